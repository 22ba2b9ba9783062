-- AlterTable
ALTER TABLE "Gateway" ADD COLUMN     "deadLetterAt" TIMESTAMP(3),
ADD COLUMN     "deadLetterCount" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "deadLetterReason" TEXT;
