// No `server-only` here: the CLI scripts (tsx) and tests open the database through this module too.
import fs from "node:fs";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import {
  DriverAdapterError,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "@/lib/generated/prisma/client";
import { registerDriver } from "./driver";

export type Db = PrismaClient;
export type DatabaseKind = "pglite" | "postgres";
/** What `applyMigrations` drives the schema engine with (see lib/server/db/migrate.ts). */
export type MigrationAdapterFactory = SqlMigrationAwareDriverAdapterFactory;

export interface OpenDatabaseOptions {
  /** `postgres://` or `postgresql://`; without it the database is PGlite, in this process. */
  url?: string;
  /** PGlite only: data directory (default `.data/pglite`), or `memory://` for a throw-away database. */
  dataDir?: string;
  /** PGlite only: start from a `dumpDataDir()` tarball (tests use a pre-migrated one). */
  loadDataDir?: Blob;
}

export interface OpenedDatabase {
  db: Db;
  adapterFactory: MigrationAdapterFactory;
  kind: DatabaseKind;
  /** The embedded instance when kind is "pglite" (e.g. for `dumpDataDir`); closed by `close()`. */
  pglite?: PGlite;
  close(): Promise<void>;
}

export const DEFAULT_PGLITE_DIR = ".data/pglite";

export async function openDatabase(options: OpenDatabaseOptions = {}): Promise<OpenedDatabase> {
  const { url } = options;
  if (url !== undefined && url !== "") {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new Error("Database URL must start with postgres:// or postgresql://");
    return openPostgres(url);
  }
  return openPglite(options.dataDir ?? DEFAULT_PGLITE_DIR, options.loadDataDir);
}

function openPostgres(url: string): OpenedDatabase {
  // The pool is ours, not the adapter's, so that bulk reads can go through it too (./driver.ts).
  const pool = new pg.Pool({ connectionString: url });
  // An idle connection's error (the server restarted) reaches the next query that needs one; an
  // 'error' event nobody listens to would end the process. (The adapter listens only while connected.)
  pool.on("error", () => {});
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  registerDriver(db, { pool });
  // The schema engine takes a session-level advisory lock and never releases it; native Prisma
  // holds it on its single connection until the process exits. One connection per migration
  // session (ended when migrate.ts disposes the adapter) keeps that meaning: the lock cannot land
  // on one pooled connection and the next `pg_advisory_lock` wait on another.
  const migrationBase = new PrismaPg({ connectionString: url, max: 1 });
  const adapterFactory = new WholeScriptAdapterFactory(migrationBase.adapterName, async (shadow) => {
    const adapter = shadow ? await migrationBase.connectToShadowDb() : await migrationBase.connect();
    const pool = adapter.underlyingDriver();
    return withWholeScript(adapter, async (script) => {
      await pool.query(script);
    });
  });
  let closing: Promise<void> | undefined;
  return {
    db,
    adapterFactory,
    kind: "postgres",
    close: () =>
      (closing ??= (async () => {
        try {
          await db.$disconnect();
        } finally {
          await pool.end();
        }
      })()),
  };
}

async function openPglite(dataDir: string, loadDataDir?: Blob): Promise<OpenedDatabase> {
  const inMemory = dataDir.startsWith("memory://");
  if (!inMemory) fs.mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create({ dataDir, loadDataDir });
  const db = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  registerDriver(db, { pglite });
  const adapterFactory = new WholeScriptAdapterFactory(new PrismaPGlite(pglite).adapterName, async (shadow) => {
    if (!shadow) return withWholeScript(await new PrismaPGlite(pglite).connect(), (script) => pglite.exec(script));
    // The adapter's own shadow database is never closed; this one goes away with the session.
    const shadowDb = await PGlite.create();
    const adapter = await new PrismaPGlite(shadowDb).connect();
    return withWholeScript(adapter, (script) => shadowDb.exec(script), () => shadowDb.close());
  });
  let closing: Promise<void> | undefined;
  return {
    db,
    adapterFactory,
    kind: "pglite",
    pglite,
    close: () =>
      (closing ??= (async () => {
        try {
          await db.$disconnect();
        } finally {
          // PGlite allows one open handle per data directory: close it so that another process can
          // open the same directory.
          if (!pglite.closed) await pglite.close();
        }
      })()),
  };
}

/**
 * Migration-aware factory whose adapters run a migration script as ONE simple-protocol query.
 *
 * Why: the schema engine hands each migration.sql to `executeScript`. PrismaPg's splits the script
 * on every ";" (a semicolon inside a string literal or function body breaks it, and a failure
 * leaves the statements before it applied); PGlite's does not await `exec`, so a failing migration
 * is recorded as applied and its error surfaces as an unhandled rejection. Postgres runs a
 * multi-statement simple query as one implicit transaction, which is what the native schema engine
 * relies on (`simple_query`): all or nothing.
 */
class WholeScriptAdapterFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = "postgres";

  constructor(
    readonly adapterName: string,
    private readonly open: (shadow: boolean) => Promise<SqlDriverAdapter>,
  ) {}

  connect(): Promise<SqlDriverAdapter> {
    return this.open(false);
  }

  connectToShadowDb(): Promise<SqlDriverAdapter> {
    return this.open(true);
  }
}

function withWholeScript(
  adapter: SqlDriverAdapter,
  run: (script: string) => Promise<unknown>,
  afterDispose?: () => Promise<void>,
): SqlDriverAdapter {
  const wrapped: SqlDriverAdapter = {
    provider: adapter.provider,
    adapterName: adapter.adapterName,
    queryRaw: (query) => adapter.queryRaw(query),
    executeRaw: (query) => adapter.executeRaw(query),
    startTransaction: (isolationLevel) => adapter.startTransaction(isolationLevel),
    executeScript: async (script) => {
      try {
        await run(script);
      } catch (error) {
        throw toDriverAdapterError(error);
      }
    },
    dispose: async () => {
      try {
        await adapter.dispose();
      } finally {
        await afterDispose?.();
      }
    },
  };
  const { getConnectionInfo } = adapter;
  if (getConnectionInfo) wrapped.getConnectionInfo = () => getConnectionInfo.call(adapter);
  return wrapped;
}

/** A Postgres error (from pg or PGlite) in the shape the engine prints as "Error querying the database: …". */
function toDriverAdapterError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const e = error as Error & { code?: unknown; severity?: unknown; detail?: unknown; column?: unknown; hint?: unknown };
  if (typeof e.code !== "string" || typeof e.severity !== "string") return error;
  const optional = (value: unknown) => (typeof value === "string" ? value : undefined);
  return new DriverAdapterError({
    kind: "postgres",
    code: e.code,
    severity: e.severity,
    message: e.message,
    detail: optional(e.detail),
    column: optional(e.column),
    hint: optional(e.hint),
  });
}
