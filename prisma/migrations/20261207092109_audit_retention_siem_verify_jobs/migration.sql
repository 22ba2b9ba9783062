-- AlterTable
-- Rows already stored were hashed over their payload (version 1); only rows written from now on
-- hash the payload's digest (version 2). Hand-edited: the drafted migration gave every row 2.
ALTER TABLE "AuditEvent" ADD COLUMN     "hashVersion" INTEGER NOT NULL DEFAULT 1;
ALTER TABLE "AuditEvent" ALTER COLUMN "hashVersion" SET DEFAULT 2;

-- CreateTable
CREATE TABLE "AuditPurge" (
    "id" TEXT NOT NULL,
    "fromSeq" BIGINT NOT NULL,
    "toSeq" BIGINT NOT NULL,
    "prevHash" TEXT NOT NULL,
    "lastHash" TEXT NOT NULL,
    "count" INTEGER NOT NULL,
    "signature" TEXT NOT NULL,
    "kid" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditPurge_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "AuditVerification" (
    "id" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "startedById" TEXT,
    "startedByLabel" TEXT NOT NULL,
    "checked" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "verifiedUpToSeq" BIGINT,
    "verifiedUpToAt" TIMESTAMP(3),
    "checkpoints" INTEGER NOT NULL DEFAULT 0,
    "failure" JSONB,
    "isCancelRequested" BOOLEAN NOT NULL DEFAULT false,
    "heartbeatAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" TIMESTAMP(3),

    CONSTRAINT "AuditVerification_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LogDestination" (
    "id" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "secretEnc" TEXT NOT NULL,
    "cursor" BIGINT NOT NULL DEFAULT 0,
    "lastDeliveredAt" TIMESTAMP(3),
    "failures" INTEGER NOT NULL DEFAULT 0,
    "lastError" TEXT,
    "lastErrorAt" TIMESTAMP(3),
    "nextAttemptAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "leaseUntil" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "LogDestination_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "AuditPurge_fromSeq_key" ON "AuditPurge"("fromSeq");

-- CreateIndex
CREATE UNIQUE INDEX "AuditPurge_prevHash_key" ON "AuditPurge"("prevHash");

-- CreateIndex
CREATE INDEX "AuditVerification_createdAt_idx" ON "AuditVerification"("createdAt");
