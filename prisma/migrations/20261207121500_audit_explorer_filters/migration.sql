-- Written by hand (Prisma cannot express these): the audit explorer's filters at 10M events
-- (measured by bench/audit-explorer.ts).

-- Source IP: a btree on (address, seq) instead of the GiST index. One address is an equality on
-- it, so a page reads its newest rows in seq order and stops (the GiST index found all 38,000
-- events of a busy address, then sorted them: 107 ms p95); a CIDR block is a range of the same
-- btree (Postgres derives >= and <= from <<=). One index for the other, so ingest pays no more.
DROP INDEX "AuditEvent_sourceInet_idx";
CREATE INDEX "AuditEvent_sourceInet_seq_idx" ON "AuditEvent" ((portico_try_inet("sourceIp")), "seq");

-- Time ranges combined with another filter: a BRIN index on time (events arrive roughly in time
-- order, so each block range covers a narrow time span). Postgres ANDs its bitmap with the other
-- filter's: for a tool over 7 days it read 1.17M entries of the time btree for that (1.1 s of
-- the 838 ms p95 facets at 10M events); the BRIN index answers from a few hundred range
-- summaries. Ingest barely pays: a new row lands in the table's last block range, not summarised
-- yet (a lookup, no index entry); autosummarize has autovacuum summarise a range once it is full.
-- Until then the range is always read, which costs little: it holds the newest rows anyway.
CREATE INDEX "AuditEvent_time_brin_idx" ON "AuditEvent" USING brin ("time") WITH (autosummarize = on);

-- No parallel scans of the audit table. A filter Postgres cannot estimate (a reason or a free-text
-- substring: it guesses 1,000 matches of 10M) made it plan a page as a Gather Merge over two
-- workers; starting them took 200 ms before the first row, for a page that reads a few thousand
-- rows (deny rule and free-text pages: 540 and 480 ms p50 at 10M events). The explorer's reads
-- are bounded walks and the exports, verification and retention read in keyset chunks, where a
-- worker never pays for its start.
ALTER TABLE "AuditEvent" SET (parallel_workers = 0);
