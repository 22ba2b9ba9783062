-- CreateTable
CREATE TABLE "Revocation" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "value" TEXT NOT NULL,
    "at" TIMESTAMP(3) NOT NULL,
    "reason" TEXT NOT NULL,
    "keepUntil" TIMESTAMP(3) NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Revocation_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Revocation_keepUntil_idx" ON "Revocation"("keepUntil");

-- CreateIndex
CREATE INDEX "Revocation_kind_value_idx" ON "Revocation"("kind", "value");
