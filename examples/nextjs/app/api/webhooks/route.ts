// reelay's webhooks land here (POST); the page reads what arrived (GET).
import { problem } from "@/lib/reelay";
import { inbox, record, reject, verifySignature, type WebhookEvent } from "@/lib/webhooks";

export async function POST(request: Request): Promise<Response> {
  const secret = process.env.REELAY_WEBHOOK_SECRET;
  if (!secret) {
    return problem(503, "Service Unavailable", "REELAY_WEBHOOK_SECRET is not set.");
  }
  // The signature covers the exact bytes sent: check them before parsing anything.
  const raw = Buffer.from(await request.arrayBuffer());
  const verdict = verifySignature(raw, request.headers.get("reelay-signature"), secret);
  if (!verdict.ok) {
    reject(verdict.reason);
    return problem(401, "Unauthorized", verdict.reason);
  }
  let event: WebhookEvent;
  try {
    event = JSON.parse(raw.toString("utf8"));
  } catch {
    return problem(400, "Bad Request", "The body is not JSON.");
  }
  if (typeof event?.id !== "string" || typeof event.type !== "string") {
    return problem(400, "Bad Request", "The event has no id or type.");
  }
  record(event, verdict.timestamp);
  // Answer at once: reelay retries on a slow answer. Long work belongs in a queue.
  return new Response(null, { status: 204 });
}

export async function GET(): Promise<Response> {
  return Response.json(inbox, { headers: { "Cache-Control": "no-store" } });
}
