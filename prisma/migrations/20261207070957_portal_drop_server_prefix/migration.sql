-- AlterTable
ALTER TABLE "Portal" ADD COLUMN     "dropServerPrefix" BOOLEAN NOT NULL DEFAULT false;
