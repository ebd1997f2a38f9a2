// Starts an upload on behalf of one of this app's users: reelay hands back where the browser
// uploads to, and a viewer token that lets that browser follow and play only this video.
import { browserReelayUrl, problem, problemResponse, reelay } from "@/lib/reelay";
import type { StartedUpload } from "@/lib/types";

// Your app's own user id: reelay returns it on the video and in every webhook about it.
const EXTERNAL_ID = "example-user";
const VIEWER_TOKEN_SECONDS = 3600;

type UploadRequest = { filename: string; content_type: string; size: number };

function parse(body: unknown): UploadRequest | null {
  if (!body || typeof body !== "object") return null;
  const { filename, content_type, size } = body as Record<string, unknown>;
  if (typeof filename !== "string" || typeof content_type !== "string") return null;
  if (typeof size !== "number" || !Number.isInteger(size) || size <= 0) return null;
  return { filename, content_type, size };
}

export async function POST(request: Request): Promise<Response> {
  const wanted = parse(await request.json().catch(() => null));
  if (!wanted) {
    return problem(400, "Bad Request", "Send {filename, content_type, size} of the file.");
  }
  const api = reelay();
  const created = await api.POST("/videos", {
    body: {
      ...wanted,
      external_id: EXTERNAL_ID,
      metadata: { app: "nextjs-example", title: wanted.filename },
    },
  });
  if (!created.data) return problemResponse(created.response, created.error);
  const media_id = created.data.id;
  const token = await api.POST("/videos/{media_id}/tokens", {
    params: { path: { media_id } },
    body: { ttl_seconds: VIEWER_TOKEN_SECONDS },
  });
  if (!token.data) return problemResponse(token.response, token.error);
  const { upload, ...media } = created.data;
  const started: StartedUpload = {
    media,
    upload,
    viewer: { token: token.data.token, expires_at: token.data.expires_at },
    reelay_url: browserReelayUrl(),
  };
  return Response.json(started, { status: 201 });
}
