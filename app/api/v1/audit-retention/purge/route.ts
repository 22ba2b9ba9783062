import { apiRoute } from "@/lib/server/http";
import { runRetentionPurge } from "@/lib/server/audit-retention";

/** "Run now": at most 200 batches (100,000 rows) per request; the daily run has no cap. */
export const POST = apiRoute(({ db, actor }) => runRetentionPurge(db, actor, { maxBatches: 200 }));
