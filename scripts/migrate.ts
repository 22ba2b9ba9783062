/**
 * `npm run db:migrate`: applies the committed migrations to DATABASE_URL when it is set, otherwise
 * to the embedded PGlite database under PORTICO_DATA_DIR (default `.data/pglite`).
 */
import path from "node:path";
import { openDatabase } from "../lib/server/db/client";
import { applyMigrations } from "../lib/server/db/migrate";

async function main() {
  const url = process.env.DATABASE_URL || undefined;
  const dataDir = path.join(process.env.PORTICO_DATA_DIR ?? ".data", "pglite");
  const opened = await openDatabase({ url, dataDir });
  try {
    const { applied } = await applyMigrations(opened.adapterFactory);
    process.stdout.write(
      applied.length ? `Migrations: applied ${applied.length} (${applied.join(", ")})\n` : "Migrations: up to date\n",
    );
  } finally {
    await opened.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
