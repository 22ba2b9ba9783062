-- Existing servers count their credential as set now (the default backfills every row): their
-- real age is unknown, and an alert on day one for every server would be noise.
-- AlterTable
ALTER TABLE "Server" ADD COLUMN     "credentialSetAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
