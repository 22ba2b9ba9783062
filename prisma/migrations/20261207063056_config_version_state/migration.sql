-- CreateTable
CREATE TABLE "ConfigVersionState" (
    "version" INTEGER NOT NULL,
    "document" JSONB NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ConfigVersionState_pkey" PRIMARY KEY ("version")
);

-- CreateTable
CREATE TABLE "GatewayVersionAck" (
    "gatewayName" TEXT NOT NULL,
    "version" INTEGER NOT NULL,
    "ackedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "GatewayVersionAck_pkey" PRIMARY KEY ("gatewayName","version")
);

-- CreateIndex
CREATE INDEX "GatewayVersionAck_version_idx" ON "GatewayVersionAck"("version");
