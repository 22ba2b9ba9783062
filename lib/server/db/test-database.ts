// Databases for integration tests: each call gives a freshly migrated, empty database of its own.
import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import pg from "pg";
import { openDatabase, type DatabaseKind, type Db } from "./client";
import { applyMigrations, readMigrations } from "./migrate";

export interface TestDatabase {
  db: Db;
  kind: DatabaseKind;
  close(): Promise<void>;
}

const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/**
 * Tests create and drop databases: never let a stray TEST_DATABASE_URL point them at a shared or
 * production server. Unix sockets are local by definition; an unnamed host (pg would fall back to
 * PGHOST) is refused.
 */
export function assertLocalDatabaseUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("TEST_DATABASE_URL is not a valid URL");
  }
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    throw new Error("TEST_DATABASE_URL must start with postgres:// or postgresql://");
  }
  const host = parsed.searchParams.get("host") ?? parsed.hostname;
  if (host.startsWith("/")) return;
  if (!LOCAL_HOSTS.has(host.toLowerCase())) {
    throw new Error(
      `Refusing TEST_DATABASE_URL on host "${host || "(none)"}": tests create and drop databases, so only localhost, 127.0.0.1 or ::1 is allowed`,
    );
  }
}

/**
 * A freshly migrated, empty database: in-memory PGlite by default, or a new uniquely named
 * database on the (local) server of TEST_DATABASE_URL, dropped again by `close()`.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = process.env.TEST_DATABASE_URL;
  return serverUrl ? createPostgresDatabase(serverUrl) : createPgliteDatabase();
}

async function createPgliteDatabase(): Promise<TestDatabase> {
  const opened = await openDatabase({ dataDir: "memory://", loadDataDir: await migratedPgliteDump() });
  try {
    // Normally applies nothing; catches a dump that somehow predates the migrations.
    await applyMigrations(opened.adapterFactory);
  } catch (error) {
    await opened.close();
    throw error;
  }
  return { db: opened.db, kind: "pglite", close: opened.close };
}

async function createPostgresDatabase(serverUrl: string): Promise<TestDatabase> {
  assertLocalDatabaseUrl(serverUrl);
  const name = `portico_test_${Date.now().toString(36)}_${randomBytes(4).toString("hex")}`;
  await adminQuery(serverUrl, `CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const drop = () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  let opened: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    opened = await openDatabase({ url: url.toString() });
    await applyMigrations(opened.adapterFactory);
  } catch (error) {
    await opened?.close().catch(() => {});
    await drop().catch(() => {});
    throw error;
  }
  const db = opened;
  let closing: Promise<void> | undefined;
  return {
    db: db.db,
    kind: "postgres",
    close: () =>
      (closing ??= (async () => {
        try {
          await db.close();
        } finally {
          await drop();
        }
      })()),
  };
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// Starting PGlite runs initdb (about 3 s here); loading a dump of an already migrated instance is
// several times faster. The dump is cached on disk under a key of the migrations' content (and
// PGlite's version), so each test file pays only for the load.
let dumpInProcess: Promise<Blob> | undefined;

function migratedPgliteDump(): Promise<Blob> {
  dumpInProcess ??= buildOrReadDump().catch((error: unknown) => {
    dumpInProcess = undefined;
    throw error;
  });
  return dumpInProcess;
}

async function buildOrReadDump(): Promise<Blob> {
  const cacheDir = path.resolve("node_modules/.cache/portico");
  const file = path.join(cacheDir, `pglite-migrated-${await migrationsKey()}.tar`);
  const cached = await fs.readFile(file).catch(() => null);
  if (cached) return new Blob([cached]);

  const scratch = await openDatabase({ dataDir: "memory://" });
  let dump: Blob;
  try {
    await applyMigrations(scratch.adapterFactory);
    dump = await scratch.pglite!.dumpDataDir("none");
  } finally {
    await scratch.close();
  }
  // Written aside and renamed: test files running at the same time never read half a file.
  await fs.mkdir(cacheDir, { recursive: true });
  const partial = `${file}.${process.pid}.${randomBytes(4).toString("hex")}`;
  await fs.writeFile(partial, new Uint8Array(await dump.arrayBuffer()));
  await fs.rename(partial, file);
  // Dumps for older migration sets are 40 MB each and never read again.
  for (const stale of await fs.readdir(cacheDir)) {
    if (stale.startsWith("pglite-migrated-") && stale.endsWith(".tar") && path.join(cacheDir, stale) !== file) {
      await fs.rm(path.join(cacheDir, stale), { force: true });
    }
  }
  return dump;
}

async function migrationsKey(): Promise<string> {
  const list = await readMigrations();
  const hash = createHash("sha256");
  hash.update(`pglite ${pgliteVersion()}\n${list.lockfile.content ?? ""}\n`);
  for (const dir of list.migrationDirectories) {
    const content = dir.migrationFile.content;
    hash.update(`${dir.path}\n${content.tag}\n${content.value}\n`);
  }
  return hash.digest("hex").slice(0, 16);
}

function pgliteVersion(): string {
  try {
    const main = createRequire(import.meta.url).resolve("@electric-sql/pglite");
    const manifest = createRequire(main)("../package.json") as { version?: string };
    return manifest.version ?? "unknown";
  } catch {
    return "unknown";
  }
}
