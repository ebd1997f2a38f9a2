// What the page says to people. The API's problem `detail` is written for developers (it names
// headers and fields), so the page never shows it: it turns `code` and status into these words.

const PROBLEMS = {
  bad_credentials: "That email and password do not match an account.",
  email_taken: "An account with this email already exists. Log in instead.",
  session_too_old: "You have been signed in for a long time. Please sign in again.",
  unsupported_media_type:
    "This kind of file cannot be processed. Choose a video (MP4, MOV, MKV, WebM, AVI) or an " +
    "image (JPEG, PNG, WebP, GIF).",
  bad_filename: "This file name cannot be used. Rename the file and try again.",
  too_large: "This file is larger than this server accepts.",
  empty_file: "This file is empty.",
  quota_exceeded:
    "You have reached a limit of your account. Delete something, or wait until uploads finish.",
  too_many_uploads: "Too many uploads at once. Wait for one to finish.",
  rate_limited: "Too many attempts in a short time. Wait a minute and try again.",
  upload_expired: "The unfinished upload expired. Choose the file again to start over.",
  upload_missing: "The file did not arrive in storage. Try the upload again.",
  size_mismatch: "The file changed while it was uploading. Try the upload again.",
  wrong_state: "This item has changed meanwhile. The list now shows its current state.",
  already_terminal: "This item has already finished.",
  not_found: "This item no longer exists.",
  not_ready: "This file is not ready yet.",
  no_such_rendition: "This file is not available for this item.",
  dependency_unavailable: "The server is restarting or busy. Try again in a moment.",
  server_busy: "The server is busy. Try again in a moment.",
  storage_refused: "Storage did not accept the file. Try again.",
  not_a_session: "Your session has ended. Please sign in again.",
  bad_origin: "This page may not make that change. Reload the page and try again.",
};

const STATUSES = {
  400: "Something about this request was not understood. Reload the page and try again.",
  401: "Your session has ended. Please sign in again.",
  403: "You are not allowed to do that.",
  404: "This item no longer exists.",
  409: "This item is not in a state that allows that.",
  413: "This file is larger than this server accepts.",
  415: "This kind of file cannot be processed.",
  422: "Something about this file is not acceptable.",
  429: "Too many requests in a short time. Wait a moment and try again.",
};

// Sign-up refuses a malformed email or a short password with a generic validation problem.
const FORM_PROBLEMS = {
  validation_error: "Enter a valid email address and a password of at least 8 characters.",
};

export function problemWords(error, { form = false } = {}) {
  if (error?.offline) return "The server cannot be reached. Check the connection and try again.";
  const code = error?.code;
  if (form && FORM_PROBLEMS[code]) return FORM_PROBLEMS[code];
  if (code && PROBLEMS[code]) return PROBLEMS[code];
  const status = error?.status ?? 0;
  if (STATUSES[status]) return STATUSES[status];
  if (status >= 500) return "Something went wrong on the server. Try again in a moment.";
  return "Something went wrong. Try again.";
}

// Why processing failed. Rejections carry a message written for the uploader (it names the
// limit that was hit); other failures are said here.
const REJECTIONS = new Set([
  "invalid_media",
  "unsupported_format",
  "no_video_stream",
  "too_long",
  "resolution_too_large",
]);
const FAILURES = {
  too_much_memory: "Processing this file needs more memory than this server allows.",
  processing_timeout: "Processing took longer than this server allows and was stopped.",
  source_changed: "The stored file changed after it was uploaded. Upload it again.",
  upload_expired: "The upload was never finished.",
};

export function failureWords(error) {
  if (!error) return "";
  if (REJECTIONS.has(error.code) && error.message) return error.message;
  return FAILURES[error.code] ?? "Processing failed. Retrying may help.";
}

const STAGES = {
  probe: "Checking the file",
  transcode: "Converting",
  package: "Packaging",
  upload: "Saving",
};

export function statusWords(media) {
  switch (media.status) {
    case "awaiting_upload":
      return "Waiting for the upload to finish";
    case "queued":
      return media.queue_position
        ? `Waiting to be processed (${media.queue_position} ahead)`
        : "Waiting to be processed";
    case "processing": {
      const stage = STAGES[media.stage] ?? "Processing";
      const eta = media.eta_seconds == null ? "" : `, ${duration(media.eta_seconds)} left`;
      return `${stage}: ${Math.floor(media.progress ?? 0)}%${eta}`;
    }
    case "completed":
      return "Ready";
    case "failed":
      return "Failed";
    case "canceled":
      return "Canceled";
    default:
      return media.status;
  }
}

// -- numbers people read -------------------------------------------------------------------------
// A number and its unit are joined by a no-break space: "66 KB" never wraps between them.

const NBSP = "\u00a0";

export function bytes(count) {
  if (count == null) return "";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  const number = unit === 0 ? String(value) : value.toFixed(value < 10 ? 1 : 0);
  return `${number}${NBSP}${units[unit]}`;
}

export function duration(seconds) {
  if (seconds == null || !Number.isFinite(seconds)) return "";
  const whole = Math.max(0, Math.round(seconds));
  if (whole < 60) return `${whole}${NBSP}s`;
  const minutes = Math.floor(whole / 60);
  const rest = String(whole % 60).padStart(2, "0");
  if (minutes < 60) return `${minutes}${NBSP}min ${rest}${NBSP}s`;
  return `${Math.floor(minutes / 60)}${NBSP}h ${String(minutes % 60).padStart(2, "0")}${NBSP}min`;
}

export function bitrate(bits) {
  if (!bits) return "";
  return bits >= 1e6
    ? `${(bits / 1e6).toFixed(1)}${NBSP}Mbit/s`
    : `${Math.round(bits / 1e3)}${NBSP}kbit/s`;
}

export function when(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
