-- Written by hand (Prisma cannot express these): the audit explorer's filters at 10M events
-- (measured by bench/audit-explorer.ts).

-- Source IP: a btree on (address, seq) instead of the GiST index. One address is an equality on
-- it, so a page reads its newest rows in seq order and stops (the GiST index found all 38,000
-- events of a busy address, then sorted them: 107 ms p95); a CIDR block is a range of the same
-- btree (Postgres derives >= and <= from <<=). One index for the other, so ingest pays no more.
DROP INDEX "AuditEvent_sourceInet_idx";
CREATE INDEX "AuditEvent_sourceInet_seq_idx" ON "AuditEvent" ((portico_try_inet("sourceIp")), "seq");
