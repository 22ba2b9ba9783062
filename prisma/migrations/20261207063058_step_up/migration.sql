-- AlterTable
ALTER TABLE "PortalRole" ADD COLUMN     "perCallRiskClasses" "RiskClass"[] DEFAULT ARRAY[]::"RiskClass"[],
ADD COLUMN     "stepUpApprovers" TEXT[] DEFAULT ARRAY[]::TEXT[],
ADD COLUMN     "stepUpMaxMinutes" INTEGER NOT NULL DEFAULT 60;

-- CreateTable
CREATE TABLE "StepUpRequest" (
    "id" TEXT NOT NULL,
    "requesterKind" TEXT NOT NULL,
    "requesterId" TEXT NOT NULL,
    "requesterLabel" TEXT NOT NULL,
    "portalId" TEXT NOT NULL,
    "roleId" TEXT NOT NULL,
    "riskClass" "RiskClass" NOT NULL,
    "serverSlug" TEXT,
    "toolName" TEXT,
    "isPerCall" BOOLEAN NOT NULL DEFAULT false,
    "argumentsHash" TEXT,
    "arguments" JSONB,
    "reason" TEXT NOT NULL,
    "durationMinutes" INTEGER NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "decidedById" TEXT,
    "decidedByLabel" TEXT,
    "decidedAt" TIMESTAMP(3),
    "decisionNote" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StepUpRequest_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ElevatedGrant" (
    "id" TEXT NOT NULL,
    "requestId" TEXT NOT NULL,
    "principalKind" TEXT NOT NULL,
    "principalId" TEXT NOT NULL,
    "portalSlug" TEXT NOT NULL,
    "riskClass" "RiskClass" NOT NULL,
    "serverSlug" TEXT,
    "toolName" TEXT,
    "isPerCall" BOOLEAN NOT NULL DEFAULT false,
    "argumentsHash" TEXT,
    "startsAt" TIMESTAMP(3) NOT NULL,
    "endsAt" TIMESTAMP(3) NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'active',
    "revokedAt" TIMESTAMP(3),
    "revokedById" TEXT,
    "revokedByLabel" TEXT,
    "useCount" INTEGER NOT NULL DEFAULT 0,
    "lastUsedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "ElevatedGrant_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "StepUpRequest_status_expiresAt_idx" ON "StepUpRequest"("status", "expiresAt");

-- CreateIndex
CREATE INDEX "StepUpRequest_requesterKind_requesterId_portalId_riskClass__idx" ON "StepUpRequest"("requesterKind", "requesterId", "portalId", "riskClass", "status");

-- CreateIndex
CREATE INDEX "StepUpRequest_portalId_idx" ON "StepUpRequest"("portalId");

-- CreateIndex
CREATE INDEX "StepUpRequest_roleId_idx" ON "StepUpRequest"("roleId");

-- CreateIndex
CREATE UNIQUE INDEX "ElevatedGrant_requestId_key" ON "ElevatedGrant"("requestId");

-- CreateIndex
CREATE INDEX "ElevatedGrant_status_endsAt_idx" ON "ElevatedGrant"("status", "endsAt");

-- CreateIndex
CREATE INDEX "ElevatedGrant_principalKind_principalId_idx" ON "ElevatedGrant"("principalKind", "principalId");

-- AddForeignKey
ALTER TABLE "StepUpRequest" ADD CONSTRAINT "StepUpRequest_portalId_fkey" FOREIGN KEY ("portalId") REFERENCES "Portal"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StepUpRequest" ADD CONSTRAINT "StepUpRequest_roleId_fkey" FOREIGN KEY ("roleId") REFERENCES "PortalRole"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ElevatedGrant" ADD CONSTRAINT "ElevatedGrant_requestId_fkey" FOREIGN KEY ("requestId") REFERENCES "StepUpRequest"("id") ON DELETE CASCADE ON UPDATE CASCADE;
