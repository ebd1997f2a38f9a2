// One-time set-up against a running reelay: an account, an API key and a webhook endpoint for
// this app, written to .env.local, which `next dev` and `next start` read.
import { randomBytes } from "node:crypto";
import { existsSync, writeFileSync } from "node:fs";

const ENV_FILE = ".env.local";
const EVENTS = [
  "media.queued",
  "media.playable",
  "media.completed",
  "media.failed",
  "media.canceled",
  "media.deleted",
];

const reelayUrl = (process.env.REELAY_URL || "http://127.0.0.1:8000").replace(/\/$/, "");
const appUrl = (process.env.APP_URL || "http://localhost:3000").replace(/\/$/, "");
const email = process.env.REELAY_EMAIL || `nextjs-${randomBytes(4).toString("hex")}@example.com`;
const password = process.env.REELAY_PASSWORD || randomBytes(12).toString("base64url");

async function call(method, path, body, token) {
  const headers = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(reelayUrl + path, { method, headers, body: JSON.stringify(body) });
  } catch (error) {
    const why = error.cause?.code ?? error.message;
    fail(`cannot reach reelay at ${reelayUrl} (${why}): is \`reelay up\` running?`);
  }
  const answer = await response.json().catch(() => ({}));
  return { status: response.status, answer };
}

function fail(message) {
  console.error(`setup: ${message}`);
  process.exit(1);
}

if (existsSync(ENV_FILE)) fail(`${ENV_FILE} exists already; delete it to set up again.`);

const registered = await call("POST", "/auth/register", { email, password });
if (registered.status !== 201 && registered.status !== 409) fail(registered.answer.detail);
const login = await call("POST", "/auth/token", { email, password });
if (login.status !== 200) fail(login.answer.detail);
const session = login.answer.access_token;

const key = await call("POST", "/api-keys", { name: "nextjs example", scope: "full" }, session);
if (key.status !== 201) fail(key.answer.detail);
const hookUrl = `${appUrl}/api/webhooks`;
const hook = await call("POST", "/webhooks", { url: hookUrl, events: EVENTS }, session);
let secret = hook.answer.secret;
if (hook.status === 422) {
  // reelay will not call a local address unless told to (REELAY_WEBHOOK_ALLOW_PRIVATE=true):
  // `reelay webhooks listen` forwards the account's events here instead, signed with this.
  secret = `whsec_${randomBytes(32).toString("base64url")}`;
  console.log(`reelay refused a webhook to ${hookUrl}: ${hook.answer.detail}`);
  console.log("Forward your events to it instead, from reelay's checkout:");
  console.log(`  uv run reelay login --email ${email}`);
  console.log(`  uv run reelay webhooks listen --forward-to ${hookUrl} --secret ${secret}`);
} else if (hook.status !== 201) {
  fail(hook.answer.detail);
}

const lines = [
  `REELAY_URL=${reelayUrl}`,
  `REELAY_API_KEY=${key.answer.key}`,
  `REELAY_WEBHOOK_SECRET=${secret}`,
];
// The key and the secret are shown only once: this file is where they live now.
writeFileSync(ENV_FILE, lines.join("\n") + "\n", { mode: 0o600 });
const shown = process.env.REELAY_PASSWORD ? "" : ` (password ${password})`;
console.log(`reelay account ${email}${shown}`);
console.log(`API key "nextjs example" and webhook secret written to ${ENV_FILE}`);
