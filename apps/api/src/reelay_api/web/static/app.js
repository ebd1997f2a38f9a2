// reelay's page: sign in, upload with progress, watch every item live, play the results.
// Talks to the public API only, with the HttpOnly session cookie that POST /auth/token sets.
"use strict";

const $ = (selector) => document.querySelector(selector);
const items = new Map(); // media id -> media object, as the API last described it
const PATHS = { video: "/videos", image: "/images" };
const TERMINAL = new Set(["completed", "failed", "canceled"]);
let events = null;

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: body ? { "Content-Type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new Error(data?.detail || `${method} ${path}: ${response.status}`);
  return data;
}

// -- signing in ---------------------------------------------------------------------------

async function start() {
  try {
    showLibrary(await api("GET", "/auth/me"));
  } catch {
    showLogin();
  }
}

function showLogin() {
  events?.close();
  events = null;
  items.clear();
  $("#items").replaceChildren();
  $("#who").hidden = $("#library").hidden = true;
  $("#login").hidden = false;
}

async function showLibrary(user) {
  $("#who-email").textContent = user.email;
  $("#who").hidden = $("#library").hidden = false;
  $("#login").hidden = true;
  await loadItems();
  listen();
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const credentials = { email: form.get("email"), password: form.get("password") };
  $("#login-error").textContent = "";
  try {
    if (event.submitter?.value === "register") await api("POST", "/auth/register", credentials);
    await api("POST", "/auth/token", credentials);
    showLibrary(await api("GET", "/auth/me"));
  } catch (error) {
    $("#login-error").textContent = error.message;
  }
});

$("#logout").addEventListener("click", async () => {
  await api("POST", "/auth/logout");
  showLogin();
});

// -- the list -------------------------------------------------------------------------------

// Live events that arrive while the list is read wait here: they may be newer than the list.
let arriving = null;

async function loadItems() {
  const waiting = (arriving = []);
  try {
    const pages = await Promise.all(
      Object.values(PATHS).map((path) => api("GET", `${path}?limit=50`)),
    );
    items.clear();
    for (const media of pages.flatMap((page) => page.items)) items.set(media.id, media);
  } finally {
    if (arriving === waiting) arriving = null;
    for (const apply of waiting) apply();
    render();
  }
}

function whenLoaded(apply) {
  if (arriving) arriving.push(apply);
  else apply();
}

// Only cards whose item changed are rebuilt, and cards move only when the order changes:
// a video that is playing keeps playing while other items report progress.
function render() {
  const list = $("#items");
  const shown = new Map([...list.children].map((node) => [node.dataset.id, node]));
  for (const [id, node] of shown) if (!items.has(id)) node.remove();
  const newestFirst = [...items.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
  let previous = null;
  for (const media of newestFirst) {
    let node = shown.get(media.id);
    if (node?.dataset.version !== versionOf(media)) {
      const fresh = card(media);
      node?.replaceWith(fresh);
      node = fresh;
    }
    const slot = previous ? previous.nextElementSibling : list.firstElementChild;
    if (slot !== node) list.insertBefore(node, slot);
    previous = node;
  }
}

function versionOf(media) {
  const { status, progress, stage, eta_seconds, queue_position, error, outputs } = media;
  return JSON.stringify([status, progress, stage, eta_seconds, queue_position, error, outputs]);
}

function card(media) {
  const node = $("#item").content.firstElementChild.cloneNode(true);
  const base = `${PATHS[media.kind]}/${media.id}`;
  node.dataset.id = media.id;
  node.dataset.version = versionOf(media);
  node.dataset.status = media.status;
  node.querySelector(".filename").textContent = media.filename;
  node.querySelector(".status").textContent = describe(media);
  const bar = node.querySelector("progress");
  bar.value = media.progress ?? 0;
  bar.hidden = TERMINAL.has(media.status);
  node.querySelector(".error").textContent = media.error?.message ?? "";
  if (media.status === "completed") {
    node.querySelector(".preview").append(preview(media, base));
    const download = node.querySelector(".download");
    download.href = `${base}/download?rendition=${media.kind === "video" ? "mp4" : largest(media)}`;
    download.hidden = false;
  }
  node.querySelector(".delete").addEventListener("click", async () => {
    await api("DELETE", base);
    items.delete(media.id);
    render();
  });
  return node;
}

function describe(media) {
  if (media.status === "queued" && media.queue_position) {
    return `queued, ${media.queue_position} ahead`;
  }
  if (media.status !== "processing") return media.status.replace("_", " ");
  const eta = media.eta_seconds == null ? "" : `, about ${Math.ceil(media.eta_seconds)} s left`;
  return `${media.stage ?? "processing"} ${Math.floor(media.progress ?? 0)}%${eta}`;
}

function preview(media, base) {
  if (media.kind === "image") {
    const image = document.createElement("img");
    image.src = `${base}/download?rendition=${largest(media)}`;
    image.alt = media.filename;
    return image;
  }
  const video = document.createElement("video");
  video.controls = true;
  video.preload = "none";
  video.poster = `${base}/download?rendition=poster`;
  video.src = `${base}/download?rendition=mp4`;
  return video;
}

function largest(media) {
  return [...media.outputs].sort((a, b) => (b.width ?? 0) - (a.width ?? 0))[0].name;
}

// -- live updates ---------------------------------------------------------------------------

// EventSource reconnects by itself when the connection drops or is refused, but gives up for
// good on an HTTP error (a proxy's 502 while the API restarts, the API's 503 while Redis does):
// then the page opens a new one after 1, 2, 4, 8, then every 15 s, unless the session is gone.
// The stream is live only, so once it is back the list is read again for what was missed.
let stale = false; // live events may have been missed since the list was last read
let reopenings = 0;

function listen() {
  events?.close();
  const source = (events = new EventSource("/events"));
  source.onopen = async () => {
    $("#live").textContent = "Live: updates appear as they happen.";
    if (stale && !(await catchUp(source))) return;
    reopenings = 0;
  };
  source.onerror = () => {
    $("#live").textContent = "Reconnecting to live updates…";
    stale = true;
    if (source.readyState === EventSource.CLOSED) reopenLater(source);
  };
  for (const name of ["status", "progress"]) {
    source.addEventListener(name, (event) => whenLoaded(() => update(JSON.parse(event.data))));
  }
  for (const name of TERMINAL) {
    // The final state carries outputs and errors: fetch the whole item once.
    const final = (event) => whenLoaded(() => refresh(JSON.parse(event.data).media_id));
    source.addEventListener(name, final);
  }
  source.addEventListener("resync", () => catchUp(source));
}

async function catchUp(source) {
  stale = false;
  try {
    await loadItems();
    return true;
  } catch {
    stale = true; // the stream is back before the API answers everything: try again later
    reopenLater(source);
    return false;
  }
}

function reopenLater(source) {
  source.close();
  const tries = ++reopenings;
  const delay = Math.min(15000, 1000 * 2 ** Math.min(tries - 1, 8)) * (1 - 0.2 * Math.random());
  setTimeout(async () => {
    if (events !== source) return; // logged out, or reopened already
    const me = await fetch("/auth/me").catch(() => null);
    if (events !== source) return;
    if (me?.status === 401) return showLogin();
    listen();
  }, delay);
}

function update(data) {
  const media = items.get(data.media_id);
  if (!media) return refresh(data.media_id);
  Object.assign(media, data);
  render();
}

async function refresh(id) {
  // Events do not say the kind: a known item's is known, a new one may be either.
  const known = items.get(id);
  for (const path of known ? [PATHS[known.kind]] : Object.values(PATHS)) {
    try {
      items.set(id, await api("GET", `${path}/${id}`));
      return render();
    } catch {
      // not this kind (404); try the other
    }
  }
}

// -- uploading ------------------------------------------------------------------------------

$("#upload").addEventListener("submit", (event) => {
  event.preventDefault();
  const file = $("#file").files[0];
  const path = file.type.startsWith("image/") ? PATHS.image : PATHS.video;
  const bar = $("#upload-progress");
  const status = $("#upload-status");
  const body = new FormData();
  body.append("file", file);

  // XMLHttpRequest, not fetch: only it reports upload progress.
  const request = new XMLHttpRequest();
  request.open("POST", `${path}/upload`);
  request.responseType = "json";
  request.upload.onprogress = (progress) => {
    bar.value = progress.lengthComputable ? (100 * progress.loaded) / progress.total : 0;
  };
  request.onload = () => {
    bar.hidden = true;
    if (request.status !== 202) {
      status.textContent = request.response?.detail ?? `Upload failed (${request.status})`;
      return;
    }
    status.textContent = `${file.name} uploaded.`;
    items.set(request.response.id, request.response);
    render();
    event.target.reset();
  };
  request.onerror = () => {
    bar.hidden = true;
    status.textContent = "Upload failed: the connection was lost.";
  };
  bar.value = 0;
  bar.hidden = false;
  status.textContent = `Uploading ${file.name}…`;
  request.send(body);
});

start();
