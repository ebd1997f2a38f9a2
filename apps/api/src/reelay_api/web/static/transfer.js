// One file sent straight to storage: a presigned POST when small, S3 multipart when large
// (parts in parallel). A multipart upload is remembered in localStorage by the file's name, size
// and modification time, so choosing the same file again after a reload or a closed tab sends
// only the parts storage does not hold yet (POST .../parts says which).

import { api, ApiError, PATHS } from "./api.js";

const PARALLEL_PARTS = 4;
const PART_TRIES = 4;
const SPEED_WINDOW_MS = 5000;

const TYPES = {
  mp4: "video/mp4", m4v: "video/mp4", mov: "video/quicktime", mkv: "video/x-matroska",
  webm: "video/webm", avi: "video/x-msvideo", ts: "video/mp2t", mpg: "video/mpeg",
  jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", webp: "image/webp", gif: "image/gif",
  heic: "image/heic", heif: "image/heif",
};

function extension(name) {
  return name.includes(".") ? name.split(".").pop().toLowerCase() : "";
}

function contentTypeOf(file) {
  return file.type || TYPES[extension(file.name)] || "application/octet-stream";
}

export function kindOf(file) {
  return contentTypeOf(file).startsWith("image/") ? "image" : "video";
}

function resumeKey(file) {
  return `reelay.upload:${file.name}:${file.size}:${file.lastModified}`;
}

function remembered(file) {
  try {
    return JSON.parse(localStorage.getItem(resumeKey(file)));
  } catch {
    return null;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class Transfer {
  constructor(file, onProgress) {
    this.file = file;
    this.kind = kindOf(file);
    this.onProgress = onProgress;
    this.mediaId = null;
    this.sent = 0; // bytes stored or on their way
    this.resumedBytes = 0; // stored before this page sent anything
    this.samples = []; // [time, sent] pairs for the speed
    this.requests = new Set();
    this.canceled = false;
    this.freshUrls = null;
  }

  get path() {
    return `${PATHS[this.kind]}/${this.mediaId}`;
  }

  // The queued media object once storage holds the whole file.
  async run() {
    if (this.file.size === 0) throw new ApiError(422, { code: "empty_file" });
    const saved = remembered(this.file);
    if (saved) {
      const resumed = await this.resume(saved);
      if (resumed) return resumed;
    }
    const created = await api("POST", PATHS[this.kind], {
      filename: this.file.name,
      content_type: contentTypeOf(this.file),
      size: this.file.size,
    });
    this.mediaId = created.id;
    if (this.canceled) {
      await api("DELETE", this.path).catch(() => {});
      throw new DOMException("canceled", "AbortError");
    }
    const { upload } = created;
    if (upload.method === "POST") {
      await this.post(upload);
      return await api("POST", `${this.path}/complete`, {});
    }
    localStorage.setItem(resumeKey(this.file), JSON.stringify({ id: created.id, kind: this.kind }));
    return await this.multipart(upload.parts, [], upload.part_size);
  }

  async resume(saved) {
    this.mediaId = saved.id;
    this.kind = saved.kind;
    let answer;
    try {
      answer = await api("POST", `${this.path}/parts`);
    } catch (error) {
      // Gone, finished, or expired: start over.
      if (error.status !== 404 && error.status !== 409) throw error;
      localStorage.removeItem(resumeKey(this.file));
      this.mediaId = null;
      this.kind = kindOf(this.file);
      return null;
    }
    this.resumedBytes = answer.stored_parts.reduce((total, part) => total + part.size, 0);
    return await this.multipart(answer.parts, answer.stored_parts, answer.part_size);
  }

  async multipart(missing, stored, partSize) {
    this.sent = this.resumedBytes;
    this.report();
    const done = stored.map(({ part_number, etag }) => ({ part_number, etag }));
    const queue = [...missing];
    const sendParts = async () => {
      while (queue.length && !this.canceled) {
        const part = queue.shift();
        done.push({ part_number: part.part_number, etag: await this.putPart(part, partSize) });
      }
    };
    await Promise.all(Array.from({ length: Math.min(PARALLEL_PARTS, queue.length) }, sendParts));
    if (this.canceled) throw new DOMException("canceled", "AbortError");
    done.sort((a, b) => a.part_number - b.part_number);
    const queued = await api("POST", `${this.path}/complete`, { parts: done });
    localStorage.removeItem(resumeKey(this.file));
    return queued;
  }

  async putPart(part, partSize) {
    const start = (part.part_number - 1) * partSize;
    const blob = this.file.slice(start, start + part.size);
    let url = part.url;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const request = await this.send("PUT", url, blob, part.size);
        return request.getResponseHeader("ETag");
      } catch (error) {
        if (this.canceled || attempt >= PART_TRIES) throw error;
        // 403: the URL expired (a long upload); any other failure: the network, try again.
        if (error.status === 403) url = await this.freshUrl(part.part_number);
        await sleep(500 * 2 ** attempt);
      }
    }
  }

  async freshUrl(partNumber) {
    this.freshUrls ??= api("POST", `${this.path}/parts`).finally(() => {
      setTimeout(() => (this.freshUrls = null), 10_000);
    });
    const answer = await this.freshUrls;
    return answer.parts.find((part) => part.part_number === partNumber)?.url;
  }

  post(upload) {
    const form = new FormData();
    for (const [name, value] of Object.entries(upload.fields)) form.append(name, value);
    form.append("file", this.file); // storage reads the fields first: the file goes last
    return this.send("POST", upload.url, form, this.file.size);
  }

  // XMLHttpRequest, not fetch: only it reports upload progress.
  send(method, url, body, size) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      let counted = 0;
      const count = (loaded) => {
        this.sent += loaded - counted;
        counted = loaded;
        this.report();
      };
      request.upload.onprogress = (event) => {
        if (event.lengthComputable) count(Math.round((event.loaded / event.total) * size));
      };
      const fail = () => {
        this.requests.delete(request);
        count(0);
        reject(new ApiError(request.status, { code: "storage_refused" }, { offline: !request.status }));
      };
      request.onload = () => {
        if (request.status >= 300) return fail();
        this.requests.delete(request);
        count(size);
        resolve(request);
      };
      request.onerror = request.onabort = request.ontimeout = fail;
      request.open(method, url);
      this.requests.add(request);
      request.send(body);
    });
  }

  cancel() {
    this.canceled = true;
    for (const request of this.requests) request.abort();
    localStorage.removeItem(resumeKey(this.file));
  }

  report() {
    const now = performance.now();
    this.samples.push([now, this.sent]);
    while (this.samples.length > 2 && now - this.samples[0][0] > SPEED_WINDOW_MS) {
      this.samples.shift();
    }
    this.onProgress(this);
  }

  // Bytes per second over the last few seconds; null until there is enough to say.
  get speed() {
    const [first, last] = [this.samples[0], this.samples[this.samples.length - 1]];
    if (!first || last[0] - first[0] < 500) return null;
    return Math.max(0, (last[1] - first[1]) / ((last[0] - first[0]) / 1000));
  }

  get secondsLeft() {
    const speed = this.speed;
    return speed ? (this.file.size - this.sent) / speed : null;
  }
}
