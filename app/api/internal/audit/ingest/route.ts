import { z } from "zod";
import { ingestAuditEvents } from "@/lib/server/audit-ingest";
import { internalRoute } from "@/lib/server/http";
import { readInternalJson } from "@/lib/server/internal-auth";

// A gateway sends at most 500 events a batch; with arguments and results kept (size-capped), a
// batch outgrows readJson's 1 MiB.
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const ingestBody = z.object({ events: z.array(z.unknown()).max(500) });

export const POST = internalRoute(async ({ req, db }) => {
  const body = ingestBody.parse(await readInternalJson(req, MAX_BODY_BYTES));
  return ingestAuditEvents(db, body.events);
});
