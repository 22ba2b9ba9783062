import { z } from "zod";
import { ingestAuditEvents } from "@/lib/server/audit-ingest";
import { internalRoute } from "@/lib/server/http";
import { readInternalJson } from "@/lib/server/internal-auth";

// A gateway sends at most 2,000 events a batch (1,000 by default: each batch pays a transaction,
// the chain lock, a tail read and a commit, so bigger batches carry a backlog faster; see
// bench/audit-ingest.ts); with arguments and results kept (size-capped), a batch outgrows
// readJson's 1 MiB, and the spool keeps a batch under 4 MiB.
const MAX_BODY_BYTES = 5 * 1024 * 1024;
const ingestBody = z.object({ events: z.array(z.unknown()).max(2000) });

export const POST = internalRoute(async ({ req, db }) => {
  const body = ingestBody.parse(await readInternalJson(req, MAX_BODY_BYTES));
  return ingestAuditEvents(db, body.events);
});
