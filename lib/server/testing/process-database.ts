import { createTestDatabase, type TestDatabase } from "../db/test-database";

// db/instance.ts keeps the process's one database handle here.
const processDb = globalThis as unknown as { porticoDb?: Promise<{ db: TestDatabase["db"] }> };

/**
 * A test database (db/test-database.ts) that is also the process's own: route handlers, and all
 * else that takes its database from getDb(), get this one. `close()` lets go of it and drops it.
 */
export async function createProcessTestDatabase(): Promise<TestDatabase> {
  const t = await createTestDatabase();
  processDb.porticoDb = Promise.resolve({ db: t.db });
  return {
    ...t,
    async close() {
      delete processDb.porticoDb;
      await t.close();
    },
  };
}
