// The public API as the page calls it: JSON in and out with the HttpOnly session cookie.
// A refused session (401) is reported once to whoever listens (the sign-in form), and requests
// wait while the session is being renewed, so none goes out with a token just revoked.

export class ApiError extends Error {
  constructor(status, problem, { offline = false } = {}) {
    super(problem?.detail ?? `HTTP ${status}`); // for the console; people see words.js
    this.status = status;
    this.code = problem?.code ?? null;
    this.offline = offline;
  }
}

let renewing = null; // a promise while POST /auth/refresh is in flight
let onSessionEnded = () => {};

export function whenSessionEnds(callback) {
  onSessionEnded = callback;
}

export async function api(method, path, body, { quiet401 = false } = {}) {
  if (renewing && !path.startsWith("/auth/")) await renewing.catch(() => {});
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: body ? { "Content-Type": "application/json" } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch {
    throw new ApiError(0, null, { offline: true });
  }
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new ApiError(response.status, data);
    if (response.status === 401 && !quiet401) onSessionEnded(error);
    throw error;
  }
  return data;
}

export function renew() {
  renewing = api("POST", "/auth/refresh", undefined, { quiet401: true });
  const done = renewing;
  done.finally(() => {
    if (renewing === done) renewing = null;
  }).catch(() => {});
  return done;
}

export const PATHS = { video: "/videos", image: "/images" };

export function pathOf(media) {
  return `${PATHS[media.kind]}/${media.id}`;
}
