// Choosing or dropping files, and one row per file while it goes to storage: bytes, speed and
// time left, Cancel; on a failure the reason in words and Retry.

import { api } from "./api.js";
import { Transfer } from "./transfer.js";
import { bytes, duration, problemWords } from "./words.js";

const FILES_AT_ONCE = 2; // each multipart upload already sends parts in parallel
const $ = (selector) => document.querySelector(selector);
const waiting = [];
const running = new Set();
let queued = () => {};

export function uploading() {
  return running.size > 0;
}

export function setupUploads(onQueued) {
  queued = onQueued;
  const input = $("#file");
  input.addEventListener("change", () => {
    addFiles([...input.files]);
    input.value = ""; // the same file can be chosen again (to resume it)
  });
  const zone = $("#library");
  const drop = $("#drop");
  zone.addEventListener("dragover", (event) => {
    if (![...(event.dataTransfer?.types ?? [])].includes("Files")) return;
    event.preventDefault();
    drop.classList.add("over");
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) drop.classList.remove("over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addFiles([...(event.dataTransfer?.files ?? [])]);
  });
}

function addFiles(files) {
  for (const file of files) {
    const row = $("#transfer").content.firstElementChild.cloneNode(true);
    row.querySelector(".filename").textContent = file.name;
    row.querySelector("progress").setAttribute("aria-label", `Uploading ${file.name}`);
    $("#transfers").append(row);
    waiting.push({ file, row });
  }
  pump();
}

function pump() {
  while (running.size < FILES_AT_ONCE && waiting.length) send(waiting.shift());
}

async function send(job) {
  const { file, row } = job;
  const transfer = new Transfer(file, (progress) => show(row, progress));
  running.add(transfer);
  row.dataset.state = "sending";
  row.querySelector(".error").textContent = "";
  row.querySelector(".numbers").textContent = `Starting ${bytes(file.size)}…`;
  row.querySelector(".actions").replaceChildren(
    button("Cancel upload", () => cancel(transfer, row)),
  );
  // Numbers move on even while no byte does (a stalled network): speed falls, time left grows.
  const ticker = setInterval(() => transfer.report(), 1000);
  try {
    const media = await transfer.run();
    row.dataset.state = "done";
    row.querySelector("progress").value = 100;
    row.querySelector(".numbers").textContent = resumedWords(transfer) + "Uploaded.";
    row.querySelector(".actions").replaceChildren();
    queued(media);
    setTimeout(() => row.remove(), 4000);
  } catch (error) {
    if (transfer.canceled) return;
    row.dataset.state = "failed";
    row.querySelector(".error").textContent = problemWords(error);
    row.querySelector(".actions").replaceChildren(
      button("Retry", () => {
        waiting.push(job);
        pump();
      }),
      button("Dismiss", () => row.remove()),
    );
  } finally {
    clearInterval(ticker);
    running.delete(transfer);
    pump();
  }
}

function resumedWords(transfer) {
  return transfer.resumedBytes
    ? `Resumed: ${bytes(transfer.resumedBytes)} of ${bytes(transfer.file.size)} were already stored. `
    : "";
}

function show(row, transfer) {
  const { file, sent, speed, secondsLeft } = transfer;
  row.querySelector("progress").value = file.size ? (100 * sent) / file.size : 0;
  const parts = [`${bytes(sent)} of ${bytes(file.size)}`];
  if (speed) parts.push(`${bytes(speed)}/s`);
  if (secondsLeft != null && sent < file.size) parts.push(`about ${duration(secondsLeft)} left`);
  row.querySelector(".numbers").textContent = resumedWords(transfer) + parts.join(" · ");
}

async function cancel(transfer, row) {
  transfer.cancel();
  row.remove();
  // The item waits for an upload that will not come: remove it and what storage holds of it.
  if (transfer.mediaId) await api("DELETE", transfer.path).catch(() => {});
}

function button(label, onClick) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = label;
  node.addEventListener("click", onClick);
  return node;
}
