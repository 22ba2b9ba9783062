-- Written by hand (Prisma cannot express a partial index): the explorer's DLP detector filter
-- (measured by bench/audit-explorer.ts at 10M events).

-- Events with a DLP match, in seq order. A first page filtered by a detector walked the seq index
-- from the newest event and looked into every row's data (25,000 rows for a detector on 0.2 % of
-- calls: 45/80 ms p50/p95, and the whole table for a detector that never matched); on this index it
-- reads the DLP events only (120 rows for that page: 4.5 ms). Postgres uses it for the filter's
-- `"data"->'dlp' @> …` (a strict operator, so it implies IS NOT NULL). Partial: a row without a
-- DLP match (99.5 % of them) is not in it, so ingest pays nearly nothing; 1 MB at 10M events.
CREATE INDEX "AuditEvent_dlp_seq_idx" ON "AuditEvent" ("seq") WHERE ("data"->'dlp') IS NOT NULL;
