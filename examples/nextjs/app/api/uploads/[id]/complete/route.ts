// Tells reelay the browser's upload has landed, so it checks the stored file and queues it.
import { problem, problemResponse, reelay } from "@/lib/reelay";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Part = { part_number: number; etag: string };

function parseParts(body: unknown): Part[] | undefined {
  const parts = (body as { parts?: unknown } | null)?.parts;
  if (!Array.isArray(parts)) return undefined;
  return parts.filter(
    (part): part is Part =>
      Number.isInteger(part?.part_number) && typeof part?.etag === "string",
  );
}

export async function POST(
  request: Request,
  { params }: { params: Promise<{ id: string }> },
): Promise<Response> {
  const { id } = await params;
  if (!UUID.test(id)) {
    return problem(404, "Not Found", "No such upload.");
  }
  // A real app checks here that this video belongs to its signed-in user (its external_id):
  // the API key can complete any upload of the key's owner.
  const parts = parseParts(await request.json().catch(() => null));
  const completed = await reelay().POST("/videos/{media_id}/complete", {
    params: { path: { media_id: id } },
    body: parts ? { parts } : {},
  });
  if (!completed.data) return problemResponse(completed.response, completed.error);
  return Response.json(completed.data, { status: 202 });
}
