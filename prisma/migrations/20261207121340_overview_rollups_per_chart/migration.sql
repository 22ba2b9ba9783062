-- CreateTable
CREATE TABLE "TrafficByServer" (
    "grain" TEXT NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
    "portal" TEXT NOT NULL DEFAULT '',
    "server" TEXT NOT NULL DEFAULT '',
    "decision" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "upstreamErrors" INTEGER NOT NULL DEFAULT 0,
    "latencyBuckets" INTEGER[],

    CONSTRAINT "TrafficByServer_pkey" PRIMARY KEY ("grain","start","portal","server","decision")
);

-- CreateTable
CREATE TABLE "TrafficByTool" (
    "grain" TEXT NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
    "portal" TEXT NOT NULL DEFAULT '',
    "server" TEXT NOT NULL DEFAULT '',
    "tool" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "TrafficByTool_pkey" PRIMARY KEY ("grain","start","portal","server","tool")
);

-- CreateTable
CREATE TABLE "TrafficByActor" (
    "grain" TEXT NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
    "portal" TEXT NOT NULL DEFAULT '',
    "actor" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "TrafficByActor_pkey" PRIMARY KEY ("grain","start","portal","actor")
);

-- CreateTable
CREATE TABLE "TrafficCost" (
    "grain" TEXT NOT NULL,
    "start" TIMESTAMP(3) NOT NULL,
    "portal" TEXT NOT NULL DEFAULT '',
    "actor" TEXT NOT NULL,
    "server" TEXT NOT NULL DEFAULT '',
    "tool" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,
    "bytes" BIGINT NOT NULL DEFAULT 0,
    "latencySumMs" DOUBLE PRECISION NOT NULL DEFAULT 0,

    CONSTRAINT "TrafficCost_pkey" PRIMARY KEY ("grain","start","portal","actor","server","tool")
);

-- The overview sums a few thousand rows of each: never worth starting parallel workers for, which
-- on a busy machine took longer than the sums themselves (bench/overview-queries.ts).
ALTER TABLE "TrafficByServer" SET (parallel_workers = 0);
ALTER TABLE "TrafficByTool" SET (parallel_workers = 0);
ALTER TABLE "TrafficByActor" SET (parallel_workers = 0);
ALTER TABLE "TrafficCost" SET (parallel_workers = 0);

-- Backfill from the wide per-minute, hourly and daily rollups they replace (each summed by the
-- new table's key at the same grain), so the charts keep the history ingested before.
INSERT INTO "TrafficByServer" ("grain", "start", "portal", "server", "decision", "count", "upstreamErrors", "latencyBuckets")
SELECT r."grain", r."minute", r."portal", r."server", r."decision", sum(r."count")::int, sum(r."upstreamErrors")::int,
  ARRAY[COALESCE(sum(r."latencyBuckets"[1]), 0), COALESCE(sum(r."latencyBuckets"[2]), 0), COALESCE(sum(r."latencyBuckets"[3]), 0), COALESCE(sum(r."latencyBuckets"[4]), 0), COALESCE(sum(r."latencyBuckets"[5]), 0), COALESCE(sum(r."latencyBuckets"[6]), 0), COALESCE(sum(r."latencyBuckets"[7]), 0), COALESCE(sum(r."latencyBuckets"[8]), 0), COALESCE(sum(r."latencyBuckets"[9]), 0), COALESCE(sum(r."latencyBuckets"[10]), 0), COALESCE(sum(r."latencyBuckets"[11]), 0), COALESCE(sum(r."latencyBuckets"[12]), 0)]::int[]
FROM (SELECT 'minute' AS "grain", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollup"
  UNION ALL SELECT 'hour', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupHour"
  UNION ALL SELECT 'day', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupDay") r
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO "TrafficByTool" ("grain", "start", "portal", "server", "tool", "count")
SELECT r."grain", r."minute", r."portal", r."server", r."tool", sum(r."count")::int
FROM (SELECT 'minute' AS "grain", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollup"
  UNION ALL SELECT 'hour', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupHour"
  UNION ALL SELECT 'day', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupDay") r
WHERE r."tool" <> ''
GROUP BY 1, 2, 3, 4, 5;

INSERT INTO "TrafficByActor" ("grain", "start", "portal", "actor", "count")
SELECT r."grain", r."minute", r."portal", r."actor", sum(r."count")::int
FROM (SELECT 'minute' AS "grain", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollup"
  UNION ALL SELECT 'hour', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupHour"
  UNION ALL SELECT 'day', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupDay") r
GROUP BY 1, 2, 3, 4;

INSERT INTO "TrafficCost" ("grain", "start", "portal", "actor", "server", "tool", "count", "bytes", "latencySumMs")
SELECT r."grain", r."minute", r."portal", r."actor", r."server", r."tool", sum(r."count")::int, sum(r."bytes"), sum(r."latencySumMs")
FROM (SELECT 'minute' AS "grain", "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollup"
  UNION ALL SELECT 'hour', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupHour"
  UNION ALL SELECT 'day', "minute", "portal", "server", "tool", "actor", "decision", "count", "bytes", "latencySumMs", "latencyBuckets", "upstreamErrors" FROM "TrafficRollupDay") r
WHERE r."tool" <> '' AND r."decision" IN ('allowed', 'error')
GROUP BY 1, 2, 3, 4, 5, 6;

-- DropTable
DROP TABLE "TrafficRollup";

-- DropTable
DROP TABLE "TrafficRollupDay";

-- DropTable
DROP TABLE "TrafficRollupHour";
