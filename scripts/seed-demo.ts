/**
 * Migrates the database and seeds the demo, then exits. Run by `npm start` in its own process:
 * PGlite's WebAssembly heap (about 900 MB here) is only given back when its process ends.
 * Input: DEMO_SERVERS (JSON list of { id, name, description, url }), DEMO_PASSWORD and, optionally,
 * DEMO_SA_SECRET (the demo service account's client secret; without it no account is seeded).
 * Output: one JSON line, { applied, portalSlug, serviceAccountClientId? }.
 */
import path from "node:path";
import { z } from "zod";
import { openDatabase } from "../lib/server/db/client";
import { applyMigrations } from "../lib/server/db/migrate";
import { seedDemo } from "../prisma/seed";

const input = z
  .object({
    DEMO_SERVERS: z.string().transform((s) => z.array(z.object({ id: z.string(), name: z.string(), description: z.string(), url: z.string().url() })).parse(JSON.parse(s))),
    DEMO_PASSWORD: z.string().min(12),
    // Empty counts as absent: no account.
    DEMO_SA_SECRET: z.preprocess((v) => (v === "" ? undefined : v), z.string().min(32).optional()),
    PORTICO_DATA_DIR: z.string(),
    DATABASE_URL: z.string().optional(),
  })
  .parse(process.env);

const opened = await openDatabase({ url: input.DATABASE_URL, dataDir: path.join(input.PORTICO_DATA_DIR, "pglite") });
try {
  const { applied } = await applyMigrations(opened.adapterFactory);
  const { portalSlug, serviceAccountClientId } = await seedDemo(opened.db, {
    demoPassword: input.DEMO_PASSWORD,
    servers: input.DEMO_SERVERS,
    serviceAccountSecret: input.DEMO_SA_SECRET,
    demoTraffic: true,
  });
  // The secret itself is never printed here: the caller already has it.
  process.stdout.write(`${JSON.stringify({ applied, portalSlug, ...(serviceAccountClientId ? { serviceAccountClientId } : {}) })}\n`);
} finally {
  await opened.close();
}
