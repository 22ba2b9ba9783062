import { defineConfig } from "prisma/config";

// Prisma 7 reads no .env and `env()` throws when unset, even for `generate`; the runtime picks
// PGlite or Postgres itself (lib/server/db), so the CLI only needs the schema path.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://localhost/portico" },
});
