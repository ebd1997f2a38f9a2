// The browser's upload straight to reelay's storage, with the URLs reelay signed for it.
import type { Upload } from "./types";

export type Part = { part_number: number; etag: string };
type OnProgress = (fraction: number) => void;

// The parts to pass to POST /complete: none for a presigned POST.
export async function uploadDirect(
  file: File,
  upload: Upload,
  onProgress: OnProgress,
): Promise<Part[] | undefined> {
  if (upload.method === "POST") {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", file); // last: storage ignores fields after the file
    await send("POST", upload.url, form, onProgress);
    return undefined;
  }
  const parts: Part[] = [];
  for (const part of upload.parts) {
    const start = (part.part_number - 1) * upload.part_size;
    const blob = file.slice(start, start + upload.part_size);
    const etag = await send("PUT", part.url, blob, (fraction) =>
      onProgress((start + fraction * blob.size) / file.size),
    );
    if (!etag) throw new Error("storage did not expose the part's ETag (CORS)");
    parts.push({ part_number: part.part_number, etag });
  }
  return parts;
}

// XMLHttpRequest, not fetch: only it reports upload progress. Resolves to the ETag header.
function send(
  method: string,
  url: string,
  body: FormData | Blob,
  onProgress: OnProgress,
): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, url);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    request.onload = () => {
      if (request.status >= 200 && request.status < 300) {
        resolve(request.getResponseHeader("ETag"));
      } else {
        reject(new Error(`storage refused the upload (${request.status})`));
      }
    };
    request.onerror = () => reject(new Error("could not reach storage"));
    request.send(body);
  });
}
