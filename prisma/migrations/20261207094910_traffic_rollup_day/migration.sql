-- CreateTable
CREATE TABLE "TrafficRollupDay" (
    "id" TEXT NOT NULL,
    "minute" TIMESTAMP(3) NOT NULL,
    "portal" TEXT NOT NULL DEFAULT '',
    "server" TEXT NOT NULL DEFAULT '',
    "tool" TEXT NOT NULL DEFAULT '',
    "actor" TEXT NOT NULL DEFAULT '',
    "decision" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "latencySumMs" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "latencyBuckets" INTEGER[],
    "upstreamErrors" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "TrafficRollupDay_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TrafficRollupDay_minute_idx" ON "TrafficRollupDay"("minute");

-- CreateIndex
CREATE UNIQUE INDEX "TrafficRollupDay_minute_portal_server_tool_actor_decision_key" ON "TrafficRollupDay"("minute", "portal", "server", "tool", "actor", "decision");

-- Backfill from the hourly rollups, so the 7- and 30-day charts keep the history ingested before
-- this table existed (12 latency buckets: lib/dashboards/rollup.ts).
INSERT INTO "TrafficRollupDay" ("id", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors")
SELECT gen_random_uuid()::text, date_trunc('day', "minute"), "portal", "server", "tool", "actor", "decision", sum("count")::int, sum("bytes"), sum("latencySumMs"),
  ARRAY[COALESCE(sum("latencyBuckets"[1]), 0), COALESCE(sum("latencyBuckets"[2]), 0), COALESCE(sum("latencyBuckets"[3]), 0), COALESCE(sum("latencyBuckets"[4]), 0), COALESCE(sum("latencyBuckets"[5]), 0), COALESCE(sum("latencyBuckets"[6]), 0), COALESCE(sum("latencyBuckets"[7]), 0), COALESCE(sum("latencyBuckets"[8]), 0), COALESCE(sum("latencyBuckets"[9]), 0), COALESCE(sum("latencyBuckets"[10]), 0), COALESCE(sum("latencyBuckets"[11]), 0), COALESCE(sum("latencyBuckets"[12]), 0)]::int[], sum("upstreamErrors")::int
FROM "TrafficRollupHour"
GROUP BY date_trunc('day', "minute"), "portal", "server", "tool", "actor", "decision";
