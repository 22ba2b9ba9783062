-- CreateTable
CREATE TABLE "TrafficRollupHour" (
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

    CONSTRAINT "TrafficRollupHour_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "TrafficRollupHour_minute_idx" ON "TrafficRollupHour"("minute");

-- CreateIndex
CREATE UNIQUE INDEX "TrafficRollupHour_minute_portal_server_tool_actor_decision_key" ON "TrafficRollupHour"("minute", "portal", "server", "tool", "actor", "decision");
