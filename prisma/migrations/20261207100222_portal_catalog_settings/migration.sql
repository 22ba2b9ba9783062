-- CreateTable
CREATE TABLE "PortalCatalogSetting" (
    "id" TEXT NOT NULL,
    "portalId" TEXT NOT NULL,
    "serverId" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "key" TEXT NOT NULL,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "alias" TEXT,
    "descriptionOverride" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "PortalCatalogSetting_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "PortalCatalogSetting_serverId_idx" ON "PortalCatalogSetting"("serverId");

-- CreateIndex
CREATE UNIQUE INDEX "PortalCatalogSetting_portalId_serverId_kind_key_key" ON "PortalCatalogSetting"("portalId", "serverId", "kind", "key");

-- AddForeignKey
ALTER TABLE "PortalCatalogSetting" ADD CONSTRAINT "PortalCatalogSetting_portalId_fkey" FOREIGN KEY ("portalId") REFERENCES "Portal"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PortalCatalogSetting" ADD CONSTRAINT "PortalCatalogSetting_serverId_fkey" FOREIGN KEY ("serverId") REFERENCES "Server"("id") ON DELETE CASCADE ON UPDATE CASCADE;
