// Checking reelay's webhook signatures, and the last deliveries kept for the page to show.
import { createHmac, timingSafeEqual } from "node:crypto";

// A delivery signed longer ago than this (or this far ahead) is refused as a possible replay.
export const REPLAY_WINDOW_SECONDS = 300;
const KEPT = 50;

export type Verdict = { ok: true; timestamp: number } | { ok: false; reason: string };

// `Reelay-Signature: t=<unix seconds>,v1=<hex>`: v1 is HMAC-SHA256 with the endpoint's secret
// over "<t>.<raw body>". Several v1 values may come (a secret being rotated); one must match.
export function verifySignature(
  rawBody: Buffer,
  header: string | null,
  secret: string,
  nowSeconds: number = Date.now() / 1000,
): Verdict {
  if (!header) return { ok: false, reason: "no Reelay-Signature header" };
  let timestamp = "";
  const signatures: string[] = [];
  for (const item of header.split(",")) {
    const equals = item.indexOf("=");
    const key = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (key === "t") timestamp = value;
    if (key === "v1") signatures.push(value);
  }
  if (!/^\d+$/.test(timestamp)) return { ok: false, reason: "no timestamp in the signature" };
  if (Math.abs(nowSeconds - Number(timestamp)) > REPLAY_WINDOW_SECONDS) {
    return { ok: false, reason: "timestamp outside the replay window" };
  }
  const expected = createHmac("sha256", secret)
    .update(`${timestamp}.`)
    .update(rawBody)
    .digest();
  // timingSafeEqual needs equal lengths; the length of a well-formed signature is public.
  const matches = signatures.some(
    (hex) => /^[0-9a-f]{64}$/i.test(hex) && timingSafeEqual(Buffer.from(hex, "hex"), expected),
  );
  return matches
    ? { ok: true, timestamp: Number(timestamp) }
    : { ok: false, reason: "signature does not match" };
}

export type WebhookEvent = {
  id: string;
  type: string;
  created_at: string;
  // The media object, as GET /videos/{id} answers it.
  data: Record<string, unknown>;
};

export type Received = {
  event_id: string;
  type: string;
  media_id: string | null;
  external_id: string | null;
  status: string | null;
  signed_at: number;
  received_at: string;
  deliveries: number;
};

export type Rejected = { reason: string; received_at: string };

type Inbox = { received: Received[]; rejected: Rejected[] };

// On globalThis: `next dev` reloads modules on change, and the inbox should outlive that.
const inboxes = globalThis as typeof globalThis & { reelayInbox?: Inbox };
export const inbox: Inbox = (inboxes.reelayInbox ??= { received: [], rejected: [] });

function text(value: unknown): string | null {
  return typeof value === "string" ? value : null;
}

// reelay delivers at least once: a retried event comes with the same id and is counted, not
// kept twice.
export function record(event: WebhookEvent, signedAt: number): Received {
  const seen = inbox.received.find((entry) => entry.event_id === event.id);
  if (seen) {
    seen.deliveries += 1;
    return seen;
  }
  const entry: Received = {
    event_id: event.id,
    type: event.type,
    media_id: text(event.data?.id),
    external_id: text(event.data?.external_id),
    status: text(event.data?.status),
    signed_at: signedAt,
    received_at: new Date().toISOString(),
    deliveries: 1,
  };
  inbox.received.unshift(entry);
  inbox.received.splice(KEPT);
  return entry;
}

export function reject(reason: string): void {
  inbox.rejected.unshift({ reason, received_at: new Date().toISOString() });
  inbox.rejected.splice(KEPT);
}
