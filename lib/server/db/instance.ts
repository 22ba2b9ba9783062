import "server-only";
import path from "node:path";
import { dataDir, env } from "../env";
import { openDatabase } from "./client";

type Opened = Awaited<ReturnType<typeof openDatabase>>;

// One Prisma client per process. Kept on globalThis so dev-mode module reloads reuse it: PGlite
// allows one open handle per data directory. Migrations are applied before the server starts
// (`npm start`, `npm run db:migrate`), so the web server never loads the schema engine.
const globalForDb = globalThis as unknown as { porticoDb?: Promise<Opened> };

export async function getDb() {
  globalForDb.porticoDb ??= openDatabase({ url: env().DATABASE_URL, dataDir: path.join(dataDir(), "pglite") }).catch((error: unknown) => {
    globalForDb.porticoDb = undefined;
    throw error;
  });
  return (await globalForDb.porticoDb).db;
}
