-- CreateTable
CREATE TABLE "DenialRollup" (
    "id" TEXT NOT NULL,
    "hour" TIMESTAMP(3) NOT NULL,
    "portal" TEXT NOT NULL DEFAULT '',
    "reason" TEXT NOT NULL,
    "count" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "DenialRollup_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "DenialRollup_hour_idx" ON "DenialRollup"("hour");

-- CreateIndex
CREATE UNIQUE INDEX "DenialRollup_hour_portal_reason_key" ON "DenialRollup"("hour", "portal", "reason");

-- Backfill from the refused calls already stored, so the chart keeps its history.
INSERT INTO "DenialRollup" ("id", "hour", "portal", "reason", "count")
SELECT gen_random_uuid()::text, date_trunc('hour', "time"), COALESCE("portal", ''), COALESCE(left("reasons"->>0, 120), '(no reason recorded)'), count(*)::int
FROM "AuditEvent"
WHERE "kind" = 'mcp.request' AND "outcome" = 'deny'
GROUP BY 2, 3, 4;
