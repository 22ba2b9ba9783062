import "server-only";
import path from "node:path";
import { dataDir, env } from "../env";
import { openDatabase } from "./client";
import { applyMigrations } from "./migrate";

type Opened = Awaited<ReturnType<typeof openDatabase>>;

// One Prisma client per process. Kept on globalThis so dev-mode module reloads reuse it: PGlite
// allows one open handle per data directory.
const globalForDb = globalThis as unknown as { porticoDb?: Promise<Opened> };

async function open(): Promise<Opened> {
  const opened = await openDatabase({ url: env().DATABASE_URL, dataDir: path.join(dataDir(), "pglite") });
  await applyMigrations(opened.adapterFactory);
  return opened;
}

export async function getDb() {
  globalForDb.porticoDb ??= open().catch((error: unknown) => {
    globalForDb.porticoDb = undefined;
    throw error;
  });
  return (await globalForDb.porticoDb).db;
}
