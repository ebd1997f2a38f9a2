// Live updates of every item over one EventSource on /events.
//
// EventSource reconnects by itself when the connection drops or is refused, but gives up for
// good on an HTTP error (a proxy's 502 while the API restarts, the API's 503 while Redis does):
// then the page opens a new one after 1, 2, 4, 8, then every 15 s, unless the session is gone.
// The stream is live only, so once it is back the list is read again for what was missed.

import { loadItems, refresh, update, whenLoaded } from "./library.js";

const TERMINAL = ["completed", "failed", "canceled"];
const $ = (selector) => document.querySelector(selector);
let events = null;
let stale = false; // live events may have been missed since the list was last read
let reopenings = 0;
let sessionGone = () => {};

export function listen(onSessionGone) {
  sessionGone = onSessionGone ?? sessionGone;
  events?.close();
  const source = (events = new EventSource("/events"));
  source.onopen = async () => {
    $("#live").textContent = "Live: changes appear as they happen.";
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
    const final = (event) => {
      const data = JSON.parse(event.data);
      whenLoaded(() => refresh(data.media_id, data.kind));
    };
    source.addEventListener(name, final);
  }
  source.addEventListener("resync", () => catchUp(source));
}

// A renewed session: the open stream holds the old token, which ends it soon; open a new one
// now and read the list once in case something happened in between.
export function reopen() {
  if (!events) return;
  stale = true;
  listen();
}

export function stopListening() {
  events?.close();
  events = null;
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
    if (events !== source) return; // signed out, or reopened already
    const me = await fetch("/auth/me").catch(() => null);
    if (events !== source) return;
    if (me?.status === 401) return sessionGone();
    listen();
  }, delay);
}
