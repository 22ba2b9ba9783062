-- Written by hand (Prisma cannot express these): the audit explorer's filters at 10M events
-- (measured by bench/audit-explorer.ts).

-- Source IP: a btree on (address, seq) instead of the GiST index. One address is an equality on
-- it, so a page reads its newest rows in seq order and stops (the GiST index found all 38,000
-- events of a busy address, then sorted them: 107 ms p95); a CIDR block is a range of the same
-- btree (Postgres derives >= and <= from <<=). One index for the other, so ingest pays no more.
DROP INDEX "AuditEvent_sourceInet_idx";
CREATE INDEX "AuditEvent_sourceInet_seq_idx" ON "AuditEvent" ((portico_try_inet("sourceIp")), "seq");

-- No parallel scans of the audit table. A filter Postgres cannot estimate (a reason or a free-text
-- substring: it guesses 1,000 matches of 10M) made it plan a page as a Gather Merge over two
-- workers; starting them took 200 ms before the first row, for a page that reads a few thousand
-- rows (deny rule and free-text pages: 540 and 480 ms p50 at 10M events). The explorer's reads
-- are bounded walks and the exports, verification and retention read in keyset chunks, where a
-- worker never pays for its start.
ALTER TABLE "AuditEvent" SET (parallel_workers = 0);
