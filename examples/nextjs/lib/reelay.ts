// reelay as this app's server sees it: an API key that never leaves the server.
import createClient from "openapi-fetch";
import type { paths } from "./reelay-api";
import type { Problem } from "./types";

function required(name: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: see examples/nextjs/README.md`);
  }
  return value;
}

// Read per request, not at import: `next build` runs without the secrets.
export function reelay() {
  return createClient<paths>({
    baseUrl: required("REELAY_URL").replace(/\/$/, ""),
    headers: { Authorization: `Bearer ${required("REELAY_API_KEY")}` },
  });
}

// Where the browser reaches reelay; differs from REELAY_URL when the server talks to reelay
// over a private network.
export function browserReelayUrl(): string {
  return (process.env.REELAY_PUBLIC_URL || required("REELAY_URL")).replace(/\/$/, "");
}

export function problem(status: number, title: string, detail: string): Response {
  const body: Problem = { type: "about:blank", title, status, detail };
  return Response.json(body, {
    status,
    headers: { "Content-Type": "application/problem+json" },
  });
}

// reelay's problem details, passed on with their status so the page can say what was wrong.
export function problemResponse(response: Response, body: unknown): Response {
  if (body && typeof body === "object" && "detail" in body) {
    return Response.json(body, {
      status: response.status,
      headers: { "Content-Type": "application/problem+json" },
    });
  }
  return problem(response.status, response.statusText, `reelay answered ${response.status}`);
}
