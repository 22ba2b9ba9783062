-- Written by hand (Prisma cannot express this). Finer statistics for the actor label prefix index:
-- with the default target, Postgres estimated ~90,000 rows for a one-person prefix among 10M
-- events and walked the seq index instead of using this index (bench/audit-explorer.ts).
ALTER INDEX "AuditEvent_actorLabel_prefix_idx" ALTER COLUMN 1 SET STATISTICS 1000;
