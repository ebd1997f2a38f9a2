// The list of the user's items: read from the API, kept current by live events, drawn as cards.

import { api, PATHS, pathOf } from "./api.js";
import { actionButtons, detailLink } from "./actions.js";
import { bytes, duration, failureWords, statusWords, when } from "./words.js";

const $ = (selector) => document.querySelector(selector);
export const items = new Map(); // media id -> media object, as the API last described it
const TERMINAL = new Set(["completed", "failed", "canceled"]);
const listeners = new Set(); // called with each item that changed (the detail view)

export function onItemChange(listener) {
  listeners.add(listener);
}

// Live events that arrive while the list is read wait here: they may be newer than the list.
let arriving = null;

export async function loadItems() {
  const waiting = (arriving = []);
  try {
    const pages = await Promise.all(
      Object.values(PATHS).map((path) => api("GET", `${path}?limit=100`)),
    );
    items.clear();
    for (const media of pages.flatMap((page) => page.items)) items.set(media.id, media);
  } finally {
    if (arriving === waiting) arriving = null;
    for (const apply of waiting) apply();
    render();
  }
}

export function whenLoaded(apply) {
  if (arriving) arriving.push(apply);
  else apply();
}

export function clearItems() {
  items.clear();
  $("#items").replaceChildren();
}

export function put(media) {
  items.set(media.id, { ...items.get(media.id), ...media });
  render();
}

// Deleted (or being deleted) here: the deletion's own events may still arrive, even before
// its answer, and must not fetch the item again.
const deleted = new Set();

export function deleting(media, yes = true) {
  if (yes) deleted.add(media.id);
  else deleted.delete(media.id);
}

export function forget(media) {
  deleted.add(media.id);
  items.delete(media.id);
  render();
}

export function update(data) {
  const media = items.get(data.media_id);
  if (deleted.has(data.media_id)) return;
  if (!media) return refresh(data.media_id, data.kind);
  const { media_id: _, ...fields } = data;
  put({ ...fields, id: media.id });
}

export async function refresh(id, kind) {
  if (deleted.has(id)) return;
  // Events name the kind; a server from before they did leaves both to try.
  const known = kind ?? items.get(id)?.kind;
  for (const path of known ? [PATHS[known]] : Object.values(PATHS)) {
    try {
      return put(await api("GET", `${path}/${id}`));
    } catch (error) {
      if (error.status !== 404) return;
    }
  }
  if (items.has(id)) forget(items.get(id));
}

// Only cards whose item changed are rebuilt, and cards move only when the order changes.
export function render() {
  const list = $("#items");
  $("#empty").hidden = items.size > 0;
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
      for (const listener of listeners) listener(media);
    }
    const slot = previous ? previous.nextElementSibling : list.firstElementChild;
    if (slot !== node) list.insertBefore(node, slot);
    previous = node;
  }
}

function versionOf(media) {
  const { status, progress, stage, eta_seconds, queue_position, error, outputs, playable } = media;
  return JSON.stringify([status, progress, stage, eta_seconds, queue_position, error, outputs, playable]);
}

function card(media) {
  const node = $("#item").content.firstElementChild.cloneNode(true);
  node.dataset.id = media.id;
  node.dataset.kind = media.kind;
  node.dataset.version = versionOf(media);
  node.dataset.status = media.status;
  const open = node.querySelector(".open");
  open.href = detailLink(media);
  open.textContent = media.filename;
  node.querySelector(".meta").textContent = facts(media);
  node.querySelector(".status").textContent = statusWords(media);
  const bar = node.querySelector("progress");
  bar.value = media.progress ?? 0;
  bar.hidden = TERMINAL.has(media.status);
  bar.setAttribute("aria-label", `Processing ${media.filename}`);
  node.querySelector(".error").textContent = media.status === "failed" ? failureWords(media.error) : "";
  const thumb = node.querySelector(".thumb");
  thumb.append(thumbnail(media));
  thumb.addEventListener("click", () => (location.hash = detailLink(media)));
  node.querySelector(".actions").append(...actionButtons(media));
  return node;
}

function facts(media) {
  const seconds = media.kind === "video" ? media.source?.duration : null;
  const size = media.source?.width ? `${media.source.width}×${media.source.height}` : "";
  return [when(media.created_at), bytes(media.size), duration(seconds), size]
    .filter(Boolean)
    .join(" · ");
}

function thumbnail(media) {
  const picture = pictureOf(media, { smallest: true });
  if (!picture) {
    const words = document.createElement("span");
    words.textContent = media.status === "failed" ? "No preview" : media.status === "completed" ? "" : "Preview when processed";
    return words;
  }
  const image = document.createElement("img");
  image.src = picture;
  image.alt = "";
  image.loading = "lazy";
  return image;
}

// A picture of the item from storage: a video's poster, an image's rendition.
export function pictureOf(media, { smallest = false } = {}) {
  const outputs = media.outputs ?? [];
  if (media.kind === "video") {
    const poster = outputs.find((output) => output.kind === "poster");
    return poster ? `${pathOf(media)}/download?rendition=${poster.name}` : null;
  }
  const pictures = outputs.filter((output) => output.width).sort((a, b) => a.width - b.width);
  const largest = pictures[pictures.length - 1];
  const chosen = smallest ? (pictures.find((p) => p.width >= 320) ?? largest) : largest;
  return chosen ? `${pathOf(media)}/download?rendition=${chosen.name}` : null;
}
