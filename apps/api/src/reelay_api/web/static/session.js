// The signed-in session: renewed while the page is in use, and said plainly when it ends.
//
// The token lives in an HttpOnly cookie for `expires_in` seconds. Halfway through, if someone
// used the page since the last renewal (a key, a click, the tab shown) or an upload is running,
// POST /auth/refresh swaps it for a new one and revokes the old; a page left alone lets it
// lapse. Renewal stops `REELAY_SESSION_MAX_SECONDS` after the sign-in (the API refuses).

import { api, renew } from "./api.js";

const SIGNED_IN = "reelay.signedIn"; // so that after a reload an ended session can be told apart
let renewTimer = null;
let endTimer = null;
let usedSinceRenewal = true;
let hooks = { busy: () => false, ended() {}, renewed() {} };

export function watchSession(given) {
  hooks = given;
  for (const name of ["pointerdown", "keydown"]) {
    addEventListener(name, markUsed, { passive: true, capture: true });
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") markUsed();
  });
}

function markUsed() {
  usedSinceRenewal = true;
}

// The account, or null when nobody is signed in; the reason it ended, if it did.
export async function currentSession() {
  try {
    const me = await api("GET", "/auth/me", undefined, { quiet401: true });
    schedule(me.issued_at, me.expires_at);
    return { me, ended: false };
  } catch (error) {
    if (error.status !== 401) throw error;
    return { me: null, ended: localStorage.getItem(SIGNED_IN) === "1" };
  }
}

export async function signIn(credentials) {
  const token = await api("POST", "/auth/token", credentials, { quiet401: true });
  localStorage.setItem(SIGNED_IN, "1");
  scheduleFromNow(token.expires_in);
  usedSinceRenewal = false;
}

export function signedOut() {
  localStorage.removeItem(SIGNED_IN);
  clearTimers();
}

export function sessionEnded() {
  clearTimers();
}

function clearTimers() {
  clearTimeout(renewTimer);
  clearTimeout(endTimer);
}

function scheduleFromNow(seconds) {
  const now = Date.now();
  schedule(new Date(now).toISOString(), new Date(now + seconds * 1000).toISOString());
}

function schedule(issuedAt, expiresAt) {
  clearTimers();
  const issued = Date.parse(issuedAt);
  const expires = Date.parse(expiresAt);
  const halfway = issued + (expires - issued) / 2;
  renewTimer = setTimeout(() => renewIfUsed(expires), Math.max(0, halfway - Date.now()));
  // Past its end the cookie is gone: say so without waiting for the next click. Another tab
  // may have renewed the shared cookie meanwhile: ask before saying it.
  endTimer = setTimeout(checkEnded, Math.max(0, expires - Date.now() + 1000));
}

async function checkEnded() {
  try {
    await currentSession().then(({ me }) => me || hooks.ended());
  } catch {
    endTimer = setTimeout(checkEnded, 60_000); // the server cannot say now
  }
}

async function renewIfUsed(expires) {
  if (!usedSinceRenewal && !hooks.busy()) {
    // Not in use: renew on the first sign of use, if the session still lasts by then.
    const onUse = () => {
      removeEventListener("pointerdown", onUse, true);
      removeEventListener("keydown", onUse, true);
      if (Date.now() < expires - 5000) renewIfUsed(expires);
    };
    addEventListener("pointerdown", onUse, { capture: true });
    addEventListener("keydown", onUse, { capture: true });
    return;
  }
  try {
    const token = await renew();
    usedSinceRenewal = false;
    scheduleFromNow(token.expires_in);
    hooks.renewed();
  } catch (error) {
    if (error.status === 401) return hooks.ended(error);
    // Offline or the server restarting: try again in a minute while the token lasts.
    if (Date.now() < expires - 60_000) renewTimer = setTimeout(() => renewIfUsed(expires), 60_000);
  }
}
