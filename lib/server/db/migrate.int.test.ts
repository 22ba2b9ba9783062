import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openDatabase, type OpenedDatabase } from "./client";
import { applyMigrations, diffMigrationSql, readMigrations } from "./migrate";
import { assertLocalDatabaseUrl, createTestDatabase } from "./test-database";

const serverUrl = process.env.TEST_DATABASE_URL;
const committed = await readMigrations();
const committedNames = committed.migrationDirectories.map((dir) => dir.path);

const scratchDirs: string[] = [];
afterAll(async () => {
  await Promise.all(scratchDirs.map((dir) => fs.rm(dir, { recursive: true, force: true })));
});

async function scratchDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "portico-migrate-"));
  scratchDirs.push(dir);
  return dir;
}

/** A migrations directory holding the given migrations, by name. */
async function migrationsDir(migrations: Record<string, string>): Promise<string> {
  const dir = await scratchDir();
  await fs.writeFile(path.join(dir, "migration_lock.toml"), 'provider = "postgresql"\n');
  for (const [name, sql] of Object.entries(migrations)) {
    await fs.mkdir(path.join(dir, name));
    await fs.writeFile(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

interface MigrationRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  applied_steps_count: number;
  logs: string | null;
}

const migrationRows = (opened: OpenedDatabase) =>
  opened.db.$queryRawUnsafe<MigrationRow[]>(
    `SELECT migration_name, checksum, finished_at, rolled_back_at, applied_steps_count, logs FROM "_prisma_migrations" ORDER BY migration_name`,
  );

const tableNames = async (opened: OpenedDatabase) =>
  (
    await opened.db.$queryRawUnsafe<{ table_name: string }[]>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name`,
    )
  ).map((row) => row.table_name);

/** One kind of database behind `open`: the same assertions run on PGlite and on Postgres. */
function migrationSuite(open: () => Promise<OpenedDatabase>) {
  it("applies the committed migrations once, records them as `migrate deploy` does, and serves queries", async () => {
    const opened = await open();
    try {
      const first = await applyMigrations(opened.adapterFactory);
      expect(first.applied).toEqual(committedNames);
      expect(first.applied.length).toBeGreaterThan(0);

      expect(await tableNames(opened)).toEqual(
        expect.arrayContaining(["User", "ApiToken", "Server", "Tool", "Portal", "AuditEvent", "_prisma_migrations"]),
      );
      const rows = await migrationRows(opened);
      expect(rows.map((row) => row.migration_name)).toEqual(committedNames);
      for (const [i, row] of rows.entries()) {
        const content = committed.migrationDirectories[i]!.migrationFile.content;
        if (content.tag !== "ok") throw new Error(content.value);
        // Prisma's checksum is the sha256 of the file: `migrate deploy` elsewhere sees the same history.
        expect(row.checksum).toBe(createHash("sha256").update(content.value).digest("hex"));
        expect(row.finished_at).toBeInstanceOf(Date);
        expect(row.rolled_back_at).toBeNull();
        expect(row.applied_steps_count).toBe(1);
      }

      expect(await applyMigrations(opened.adapterFactory)).toEqual({ applied: [] });
      expect(await migrationRows(opened)).toHaveLength(committedNames.length);

      const created = await opened.db.user.create({ data: { email: "ada@example.test", name: "Ada" } });
      const read = await opened.db.user.findUniqueOrThrow({ where: { email: "ada@example.test" } });
      expect(read).toMatchObject({ id: created.id, name: "Ada", role: "viewer", recoveryCodes: [] });
      const event = await opened.db.auditEvent.create({
        data: { id: "e1", kind: "config.change", actorType: "system", action: "test", outcome: "success", prevHash: "", hash: "h" },
      });
      expect(typeof event.seq).toBe("bigint");
    } finally {
      await opened.close();
    }
  });

  it("runs each migration as one script: semicolons in strings survive, a failure applies nothing and is recorded", async () => {
    const opened = await open();
    try {
      const dir = await migrationsDir({
        "20000101000000_a": `CREATE TABLE "A" (id INT);\nCREATE TABLE "B" (note TEXT DEFAULT 'a;b');\n`,
        "20000102000000_b": `CREATE TABLE "C" (id INT);\nSELECT nope FROM nowhere;\n`,
        "20000103000000_c": `CREATE TABLE "D" (id INT);\n`,
      });
      const failure = applyMigrations(opened.adapterFactory, { migrationsDir: dir });
      await expect(failure).rejects.toThrow(/Applying migrations failed:[\s\S]*nowhere/);
      await expect(failure).rejects.toThrow(/20000102000000_b/);

      const tables = await tableNames(opened);
      expect(tables).toEqual(expect.arrayContaining(["A", "B"]));
      expect(tables).not.toContain("C");
      expect(tables).not.toContain("D");
      const rows = await migrationRows(opened);
      expect(rows.map((row) => [row.migration_name, row.finished_at !== null])).toEqual([
        ["20000101000000_a", true],
        ["20000102000000_b", false],
      ]);
      expect(rows[1]!.logs).toContain("nowhere");
      // Like `migrate deploy` (P3009): nothing more is applied until the failure is resolved.
      await expect(applyMigrations(opened.adapterFactory, { migrationsDir: dir })).rejects.toThrow(/20000102000000_b/);
    } finally {
      await opened.close();
    }
  });
}

describe("migrations on in-memory PGlite", () => {
  migrationSuite(() => openDatabase({ dataDir: "memory://" }));

  it("leaves a PGlite data directory that another process can open after close()", async () => {
    const dataDir = await scratchDir();
    const opened = await openDatabase({ dataDir: path.join(dataDir, "pglite") });
    expect(opened.kind).toBe("pglite");
    expect((await applyMigrations(opened.adapterFactory)).applied).toEqual(committedNames);
    await opened.close();

    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.resolve("node_modules/tsx/dist/cli.mjs"), "--conditions=react-server", "scripts/migrate.ts"],
      { env: { ...process.env, DATABASE_URL: "", PORTICO_DATA_DIR: dataDir } },
    );
    expect(stdout).toBe("Migrations: up to date\n");
  });
});

describe.skipIf(!serverUrl)("migrations on Postgres (TEST_DATABASE_URL)", () => {
  const created: string[] = [];
  const admin = async <T>(fn: (client: pg.Client) => Promise<T>) => {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };

  beforeAll(() => assertLocalDatabaseUrl(serverUrl!));
  afterAll(async () => {
    await admin(async (client) => {
      for (const name of created) await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  });

  migrationSuite(async () => {
    const name = `portico_migrate_test_${randomBytes(6).toString("hex")}`;
    await admin((client) => client.query(`CREATE DATABASE "${name}"`));
    created.push(name);
    const url = new URL(serverUrl!);
    url.pathname = `/${name}`;
    const opened = await openDatabase({ url: url.toString() });
    expect(opened.kind).toBe("postgres");
    return opened;
  });
});

describe("createTestDatabase", () => {
  it("gives separate, migrated, empty databases", async () => {
    const [a, b] = [await createTestDatabase(), await createTestDatabase()];
    try {
      expect(a.kind).toBe(serverUrl ? "postgres" : "pglite");
      await a.db.user.create({ data: { email: "only-in-a@example.test", name: "A" } });
      expect(await a.db.user.count()).toBe(1);
      expect(await b.db.user.count()).toBe(0);
      expect(await b.db.server.count()).toBe(0);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses a TEST_DATABASE_URL that is not on this machine", () => {
    for (const url of [
      "postgresql://postgres@127.0.0.1:5432/postgres",
      "postgres://u:p@localhost/db",
      "postgresql://postgres@[::1]:5432/postgres",
      "postgresql:///db?host=/var/run/postgresql",
    ]) {
      expect(() => assertLocalDatabaseUrl(url)).not.toThrow();
    }
    for (const url of [
      "postgresql://postgres@db.example.com:5432/postgres",
      "postgresql://postgres@10.0.0.5/postgres",
      "postgresql://postgres@127.0.0.1/postgres?host=prod.example.com",
      "postgresql:///postgres",
      "mysql://localhost/db",
    ]) {
      expect(() => assertLocalDatabaseUrl(url)).toThrow(/TEST_DATABASE_URL/);
    }
  });
});

describe("diffMigrationSql", () => {
  it("writes SQL from an empty database, and from one datamodel to the next", async () => {
    const before = `datasource db {\n  provider = "postgresql"\n}\n\nmodel Thing {\n  id String @id\n}\n`;
    const after = before.replace("id String @id", "id String @id\n  label String @default(\"\")\n\n  @@index([label])");
    // Without a factory each call starts its own throw-away PGlite; one is enough for three diffs.
    expect(await diffMigrationSql(null, before)).toContain(`CREATE TABLE "Thing"`);
    const scratch = await openDatabase({ dataDir: "memory://" });
    try {
      const { adapterFactory } = scratch;
      const next = await diffMigrationSql(before, after, { adapterFactory });
      expect(next).toContain(`ALTER TABLE "Thing" ADD COLUMN     "label" TEXT NOT NULL DEFAULT ''`);
      expect(next).toContain(`CREATE INDEX "Thing_label_idx" ON "Thing"("label")`);
      expect(await diffMigrationSql(after, after, { adapterFactory })).toBe("-- This is an empty migration.\n");
      expect(await tableNames(scratch)).toEqual([]);
    } finally {
      await scratch.close();
    }
  });
});
