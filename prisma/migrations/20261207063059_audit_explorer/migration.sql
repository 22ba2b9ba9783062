-- CreateTable
CREATE TABLE "AuditCheckpoint" (
    "id" TEXT NOT NULL,
    "seq" BIGINT NOT NULL,
    "hash" TEXT NOT NULL,
    "eventTime" TIMESTAMP(3) NOT NULL,
    "signature" TEXT NOT NULL,
    "kid" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditCheckpoint_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AuditCheckpoint_seq_key" ON "AuditCheckpoint"("seq");

-- CreateIndex
CREATE INDEX "AuditEvent_kind_seq_idx" ON "AuditEvent"("kind", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_actorId_seq_idx" ON "AuditEvent"("actorId", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_portal_seq_idx" ON "AuditEvent"("portal", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_server_seq_idx" ON "AuditEvent"("server", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_tool_seq_idx" ON "AuditEvent"("tool", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_outcome_seq_idx" ON "AuditEvent"("outcome", "seq");

-- CreateIndex
CREATE INDEX "AuditEvent_requestId_idx" ON "AuditEvent"("requestId");

-- Written by hand (Prisma cannot express these).
-- Source IP filters accept an address or a CIDR; stored IPs are text (whatever the gateway saw),
-- so a row whose text is not an address must compare as NULL, not fail the whole query.
CREATE OR REPLACE FUNCTION portico_try_inet(value text) RETURNS inet
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
  IF value IS NULL THEN RETURN NULL; END IF;
  -- IPv4-mapped IPv6 (what Node reports on a dual-stack socket) compares as IPv4.
  IF value ILIKE '::ffff:%.%' THEN value := substr(value, 8); END IF;
  RETURN value::inet;
EXCEPTION WHEN others THEN
  RETURN NULL;
END;
$$;

-- "Same session" links and the session filter.
CREATE INDEX "AuditEvent_sessionId_idx" ON "AuditEvent" (("data"->>'sessionId'));
CREATE INDEX "AuditEvent_sourceInet_idx" ON "AuditEvent" USING gist ((portico_try_inet("sourceIp")) inet_ops);
