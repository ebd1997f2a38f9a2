// reelay's page: sign in, upload straight to storage, watch every item live, act on it, play it.
// Talks to the public API only, with the HttpOnly session cookie that POST /auth/token sets.

import { api, whenSessionEnds } from "./api.js";
import { setActionHooks } from "./actions.js";
import { followRoute, hideUntilSignedIn, itemChanged, itemRemoved } from "./detail.js";
import { clearItems, deleting, forget, loadItems, onItemChange, put } from "./library.js";
import { listen, reopen, stopListening } from "./live.js";
import { currentSession, sessionEnded, signedOut, signIn, watchSession } from "./session.js";
import { setupUploads, uploading } from "./uploads.js";
import { problemWords } from "./words.js";

const $ = (selector) => document.querySelector(selector);
const ENDED = "Your session has ended. Sign in again to continue where you were.";
let noticeTimer = null;

function say(words) {
  const notice = $("#notice");
  notice.textContent = words;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.textContent = ""), 8000);
}

function showLogin(reason = "") {
  stopListening();
  clearItems();
  hideUntilSignedIn();
  $("#who").hidden = $("#library").hidden = true;
  $("#login").hidden = false;
  $("#login-reason").textContent = reason;
  $("#login-error").textContent = "";
  // An ended session was this person's: only the password is missing.
  const email = reason ? $("#who-email").textContent : "";
  if (email) $("#email").value = email;
  (email ? $("#password") : $("#email")).focus();
}

async function showLibrary(me) {
  $("#who-email").textContent = me.email;
  $("#login").hidden = true;
  $("#who").hidden = $("#library").hidden = false;
  $("#login-reason").textContent = "";
  await loadItems();
  listen(() => endSession());
  await followRoute(say);
}

function endSession() {
  if (!$("#login").hidden) return;
  sessionEnded();
  showLogin(ENDED);
}

async function start() {
  try {
    const { me, ended } = await currentSession();
    if (me) return await showLibrary(me);
    showLogin(ended ? ENDED : "");
  } catch (error) {
    showLogin();
    $("#login-error").textContent = problemWords(error);
  }
}

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const credentials = { email: form.get("email"), password: form.get("password") };
  const register = event.submitter?.value === "register";
  const buttons = event.target.querySelectorAll("button");
  $("#login-error").textContent = "";
  buttons.forEach((button) => (button.disabled = true));
  try {
    if (register) await api("POST", "/auth/register", credentials);
    await signIn(credentials);
    const { me } = await currentSession();
    event.target.reset();
    await showLibrary(me);
  } catch (error) {
    $("#login-error").textContent = problemWords(error, { form: true });
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
});
// An old message would describe an attempt that is no longer on screen.
$("#login").addEventListener("input", () => ($("#login-error").textContent = ""));

$("#logout").addEventListener("click", async () => {
  await api("POST", "/auth/logout").catch(() => {});
  signedOut();
  showLogin();
  history.replaceState(null, "", location.pathname);
});

whenSessionEnds(() => endSession());
watchSession({ busy: uploading, ended: () => endSession(), renewed: () => reopen() });
onItemChange(itemChanged);
setActionHooks({
  changed: put,
  deleting,
  removed: (media) => (itemRemoved(media), forget(media)),
  say,
});
setupUploads((media) => put(media));
addEventListener("hashchange", () => {
  if ($("#library").hidden) return; // signing in opens it
  followRoute(say);
});

start();
