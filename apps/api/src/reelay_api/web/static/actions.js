// What can be done to an item, as buttons: the same set on a card and in the detail view.

import { api, pathOf } from "./api.js";
import { canPlay } from "./player.js";
import { problemWords } from "./words.js";

const CANCELABLE = new Set(["queued", "processing"]);
const RETRYABLE = new Set(["failed", "canceled"]);

let hooks = { changed() {}, deleting() {}, removed() {}, say() {} };

export function setActionHooks(given) {
  hooks = given;
}

function button(label, onClick, className = "") {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = label;
  if (className) node.className = className;
  node.addEventListener("click", () => onClick(node));
  return node;
}

export function detailLink(media) {
  return `#${pathOf(media)}`;
}

export function actionButtons(media, { inDetail = false } = {}) {
  const base = pathOf(media);
  const nodes = [];
  if (!inDetail) {
    const open = document.createElement("a");
    open.className = "button";
    open.href = detailLink(media);
    open.textContent = canPlay(media) ? "Play" : media.kind === "image" && media.status === "completed" ? "View" : "Details";
    nodes.push(open);
  }
  if (CANCELABLE.has(media.status)) {
    nodes.push(button("Cancel", (node) => act(node, "POST", `${base}/cancel`, "Canceling…")));
  }
  if (RETRYABLE.has(media.status)) {
    nodes.push(button("Retry", (node) => act(node, "POST", `${base}/retry`, "Retrying…")));
  }
  nodes.push(button("Copy link", (node) => copyLink(node, media)));
  nodes.push(button("Delete", () => remove(media), "danger"));
  return nodes;
}

async function act(node, method, path, busy) {
  const label = node.textContent;
  node.disabled = true;
  node.textContent = busy;
  try {
    hooks.changed(await api(method, path));
  } catch (error) {
    hooks.say(problemWords(error));
    node.disabled = false;
    node.textContent = label;
  }
}

async function copyLink(node, media) {
  const link = new URL(detailLink(media), location.href).href;
  try {
    await navigator.clipboard.writeText(link);
    node.textContent = "Link copied";
    setTimeout(() => (node.textContent = "Copy link"), 2000);
  } catch {
    // No clipboard outside a secure context (http on a LAN address): let the person copy it.
    window.prompt("Copy this link:", link);
  }
}

async function remove(media) {
  const dialog = document.querySelector("#confirm");
  dialog.querySelector("#confirm-text").textContent =
    `Delete ${media.filename}? Its renditions and downloads are deleted too. This cannot be undone.`;
  dialog.returnValue = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (dialog.returnValue !== "delete") return;
  hooks.deleting(media);
  try {
    await api("DELETE", pathOf(media));
    hooks.removed(media);
    hooks.say(`${media.filename} was deleted.`);
  } catch (error) {
    if (error.status === 404) return hooks.removed(media);
    hooks.deleting(media, false);
    hooks.say(problemWords(error));
  }
}
