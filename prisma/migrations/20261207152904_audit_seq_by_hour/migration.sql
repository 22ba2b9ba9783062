-- CreateTable
CREATE TABLE "AuditSeqByHour" (
    "hour" TIMESTAMP(3) NOT NULL,
    "minSeq" BIGINT NOT NULL,
    "maxSeq" BIGINT NOT NULL,

    CONSTRAINT "AuditSeqByHour_pkey" PRIMARY KEY ("hour")
);

-- Written by hand (Prisma cannot express these): triggers keep AuditSeqByHour for every write to
-- AuditEvent, whatever inserts it (ingest, appendAuditEvents, a restore, a test), so the seq range
-- the explorer derives from a time range is always a superset of that range's events.
-- Ingest cost: one GROUP BY over the batch's rows and one upsert per hour it touches, per statement.
CREATE OR REPLACE FUNCTION portico_audit_seq_by_hour() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "AuditSeqByHour" ("hour", "minSeq", "maxSeq")
  SELECT date_trunc('hour', "time"), min("seq"), max("seq") FROM new_rows GROUP BY 1
  ON CONFLICT ("hour") DO UPDATE SET
    "minSeq" = LEAST("AuditSeqByHour"."minSeq", EXCLUDED."minSeq"),
    "maxSeq" = GREATEST("AuditSeqByHour"."maxSeq", EXCLUDED."maxSeq");
  RETURN NULL;
END;
$$;
CREATE TRIGGER "AuditEvent_seq_by_hour_insert" AFTER INSERT ON "AuditEvent"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION portico_audit_seq_by_hour();

-- Audit events are never edited in time or seq; should one be (by hand, a repair), its hour still
-- gets its seq. Row-level: a column list cannot have a transition table, and it never fires for
-- the updates that happen (retention clears "data").
CREATE OR REPLACE FUNCTION portico_audit_seq_by_hour_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "AuditSeqByHour" ("hour", "minSeq", "maxSeq") VALUES (date_trunc('hour', NEW."time"), NEW."seq", NEW."seq")
  ON CONFLICT ("hour") DO UPDATE SET
    "minSeq" = LEAST("AuditSeqByHour"."minSeq", EXCLUDED."minSeq"),
    "maxSeq" = GREATEST("AuditSeqByHour"."maxSeq", EXCLUDED."maxSeq");
  RETURN NULL;
END;
$$;
CREATE TRIGGER "AuditEvent_seq_by_hour_update" AFTER UPDATE OF "time", "seq" ON "AuditEvent"
  FOR EACH ROW EXECUTE FUNCTION portico_audit_seq_by_hour_row();

-- Emptied with the table: seqs restarted after a TRUNCATE … RESTART IDENTITY would otherwise sit
-- below an hour's old minimum. (Deleted rows, as retention deletes them, leave the range wider: still a superset.)
CREATE OR REPLACE FUNCTION portico_audit_seq_by_hour_clear() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "AuditSeqByHour";
  RETURN NULL;
END;
$$;
CREATE TRIGGER "AuditEvent_seq_by_hour_truncate" AFTER TRUNCATE ON "AuditEvent"
  FOR EACH STATEMENT EXECUTE FUNCTION portico_audit_seq_by_hour_clear();

-- The events already stored (one pass over the table).
INSERT INTO "AuditSeqByHour" ("hour", "minSeq", "maxSeq")
SELECT date_trunc('hour', "time"), min("seq"), max("seq") FROM "AuditEvent" GROUP BY 1;
