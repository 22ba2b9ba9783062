-- AlterTable
ALTER TABLE "Server" ADD COLUMN     "allowElicitation" BOOLEAN NOT NULL DEFAULT true,
ADD COLUMN     "allowSampling" BOOLEAN NOT NULL DEFAULT true;
