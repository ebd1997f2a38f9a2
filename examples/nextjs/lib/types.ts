// The shapes the page and the routes share, all derived from reelay's OpenAPI document.
import type { components } from "./reelay-api";

export type Media = components["schemas"]["MediaOut"];
export type Upload = components["schemas"]["MediaCreated"]["upload"];
export type Problem = components["schemas"]["ProblemDetails"];

// What POST /api/uploads answers the browser.
export type StartedUpload = {
  media: Media;
  upload: Upload;
  viewer: { token: string; expires_at: string };
  reelay_url: string;
};

// The `data:` of every event on GET /videos/{id}/events.
export type ProgressData = Pick<
  Media,
  "status" | "progress" | "stage" | "eta_seconds" | "playable"
> & { error?: Media["error"] };
