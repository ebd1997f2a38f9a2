// One item in full: player or picture, status, actions, downloads, source facts, attempts.
// Its address is the page's hash (#/videos/ID), so a link opens it, Back closes it, and
// signing in again after a session ended comes back to it.

import { api, PATHS, pathOf } from "./api.js";
import { actionButtons } from "./actions.js";
import { items, pictureOf, put } from "./library.js";
import { attach, canPlay } from "./player.js";
import { bitrate, bytes, duration, failureWords, problemWords, statusWords, when } from "./words.js";

const dialog = document.querySelector("#detail");
const $ = (selector) => dialog.querySelector(selector);
const ROUTE = /^#\/(videos|images)\/([0-9a-f-]{36})$/;
const KINDS = { videos: "video", images: "image" };
let shown = null; // {id, stop} of the item on screen

export function routeTarget() {
  const match = ROUTE.exec(location.hash);
  return match ? { kind: KINDS[match[1]], id: match[2] } : null;
}

export async function followRoute(say) {
  const target = routeTarget();
  if (!target) return close();
  if (shown?.id === target.id) return;
  let media = items.get(target.id);
  if (!media) {
    try {
      media = await api("GET", `${PATHS[target.kind]}/${target.id}`);
      put(media);
    } catch (error) {
      if (error.status !== 401) say(problemWords(error));
      if (error.status === 404) leaveRoute();
      return;
    }
  }
  open(media);
}

function open(media) {
  close();
  shown = { id: media.id, stop: null, viewer: null };
  $("#viewer").replaceChildren();
  fill(media);
  if (!dialog.open) dialog.showModal();
}

function close() {
  shown?.stop?.();
  shown = null;
  $("#viewer").replaceChildren();
  if (dialog.open) dialog.close();
}

function leaveRoute() {
  if (ROUTE.test(location.hash)) history.replaceState(null, "", location.pathname + location.search);
}

let keepRoute = false;

dialog.addEventListener("close", () => {
  shown?.stop?.();
  shown = null;
  $("#viewer").replaceChildren();
  if (!keepRoute) leaveRoute();
  keepRoute = false;
});

// The session ended: the item goes off screen, but its address stays, to return to it.
export function hideUntilSignedIn() {
  if (!dialog.open) return;
  keepRoute = true;
  dialog.close();
}
$("#detail-close").addEventListener("click", () => dialog.close());

// Called for every item that changed: the open one is redrawn, its player kept.
export function itemChanged(media) {
  if (shown?.id === media.id) fill(items.get(media.id) ?? media);
}

export function itemRemoved(media) {
  if (shown?.id === media.id) dialog.close();
}

function fill(media) {
  $("#detail-title").textContent = media.filename;
  $(".status").textContent = statusWords(media);
  const bar = $("progress");
  bar.value = media.progress ?? 0;
  bar.hidden = ["completed", "failed", "canceled"].includes(media.status);
  $(".error").textContent = media.status === "failed" ? failureWords(media.error) : "";
  $(".detail-actions").replaceChildren(...actionButtons(media, { inDetail: true }));
  showViewer(media);
  fillRenditions(media);
  fillFacts("#source", sourceFacts(media));
  fillFacts("#processing", [
    ["Uploaded", when(media.created_at)],
    ["Finished", when(media.completed_at)],
    ["Attempts", String(media.attempts ?? 0)],
    ["Failure", media.status === "failed" ? failureWords(media.error) : ""],
  ]);
}

function showViewer(media) {
  const viewer = $("#viewer");
  if (media.kind === "image") {
    const source = pictureOf(media);
    if (shown.viewer === source) return;
    shown.viewer = source;
    viewer.replaceChildren(source ? picture(source, media.filename) : placeholder(media));
    return;
  }
  if (shown.viewer === "player") return;
  if (!canPlay(media)) {
    viewer.replaceChildren(placeholder(media));
    shown.viewer = null;
    return;
  }
  shown.viewer = "player";
  const video = document.createElement("video");
  video.controls = true;
  video.playsInline = true;
  video.setAttribute("aria-label", `Video: ${media.filename}`);
  const poster = pictureOf(media);
  if (poster) video.poster = poster;
  viewer.replaceChildren(video);
  const current = shown;
  attach(video, media).then((stop) => {
    if (shown === current) current.stop = stop;
    else stop();
  });
}

function picture(source, name) {
  const image = document.createElement("img");
  image.src = source;
  image.alt = name;
  return image;
}

function placeholder(media) {
  const box = document.createElement("div");
  box.className = "placeholder";
  box.textContent =
    media.status === "failed" || media.status === "canceled"
      ? "Nothing to show: this item was not processed."
      : "It can be played as soon as the first part is processed.";
  return box;
}

function fillRenditions(media) {
  const rows = (media.outputs ?? []).map((output) => {
    const row = document.createElement("tr");
    // HLS variants are many files, played rather than downloaded; the others are one file.
    let link = label(output);
    if (output.filename) {
      link = document.createElement("a");
      link.href = `${pathOf(media)}/download?rendition=${encodeURIComponent(output.name)}`;
      link.textContent = label(output);
      link.className = "download";
      link.dataset.rendition = output.name;
    }
    const size = output.width ? `${output.width}×${output.height}` : "";
    row.append(cell(link), cell(size), cell(bitrate(output.bitrate)), cell(bytes(output.size)));
    return row;
  });
  if (media.status !== "awaiting_upload") {
    const row = document.createElement("tr");
    const link = document.createElement("a");
    link.href = `${pathOf(media)}/download?rendition=source`;
    link.textContent = "Original file";
    link.className = "download";
    link.dataset.rendition = "source";
    const source = media.source?.width ? `${media.source.width}×${media.source.height}` : "";
    row.append(cell(link), cell(source), cell(""), cell(bytes(media.size)));
    rows.push(row);
  }
  $("#renditions tbody").replaceChildren(...rows);
}

function label(output) {
  if (output.kind === "hls_variant") return `${output.name} stream (HLS)`;
  if (output.kind === "mp4") return "MP4 video";
  if (output.kind === "poster") return "Poster picture";
  return `${output.name} picture`;
}

function cell(content) {
  const node = document.createElement("td");
  node.append(content);
  return node;
}

function sourceFacts(media) {
  const source = media.source ?? {};
  return [
    ["File type", media.content_type],
    ["File size", bytes(media.size)],
    ["Length", media.kind === "video" ? duration(source.duration) : ""],
    ["Size in pixels", source.width ? `${source.width}×${source.height}` : ""],
    ["Video codec", source.video_codec ?? ""],
    ["Audio codec", media.kind === "video" && media.source ? (source.audio_codec ?? "none") : ""],
  ];
}

function fillFacts(selector, pairs) {
  const nodes = pairs
    .filter(([, value]) => value)
    .flatMap(([name, value]) => {
      const term = document.createElement("dt");
      term.textContent = name;
      const detail = document.createElement("dd");
      detail.textContent = value;
      return [term, detail];
    });
  $(selector).replaceChildren(...nodes);
}
