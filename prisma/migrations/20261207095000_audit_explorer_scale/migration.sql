-- Written by hand (Prisma cannot express these): the audit explorer's filters at 10M events
-- (measured by bench/audit-explorer.ts).

-- The actor filter: an exact actor id, or the start of an email or client label, case-insensitive.
-- A substring anywhere could use no index and had to scan the table for a quiet actor.
CREATE INDEX "AuditEvent_actorLabel_prefix_idx" ON "AuditEvent" (lower("actorLabel") text_pattern_ops);

-- Events made under a step-up grant: few, so a partial index that costs nothing for the others.
CREATE INDEX "AuditEvent_grantId_seq_idx" ON "AuditEvent" (("data"->>'grantId'), "seq") WHERE ("data"->>'grantId') IS NOT NULL;
