-- AlterTable
ALTER TABLE "Gateway" ADD COLUMN     "startedAt" TIMESTAMP(3);
