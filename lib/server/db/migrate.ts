// Applies and writes Prisma migrations without Prisma's native schema engine, which the CLI would
// download. The same engine, compiled to WebAssembly, runs here through a driver adapter: it writes
// the same `_prisma_migrations` table (name, sha256 checksum, steps) as `prisma migrate deploy`, so
// a machine with Prisma's binaries sees the same state. No `server-only`: the scripts use it too.
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { bindMigrationAwareSqlAdapterFactory, type SqlDriverAdapter } from "@prisma/driver-adapter-utils";
import type * as SchemaEngineModule from "@prisma/schema-engine-wasm/schema_engine_bg";
import type { MigrationList, SchemaEngine, SchemaFilter } from "@prisma/schema-engine-wasm/schema_engine_bg";
import { openDatabase, type MigrationAdapterFactory } from "./client";

export interface MigrationPaths {
  /** Default `prisma/migrations`, from the working directory. */
  migrationsDir?: string;
  /** Default `prisma/schema.prisma`, from the working directory. */
  schemaPath?: string;
}

export const DEFAULT_MIGRATIONS_DIR = "prisma/migrations";
export const DEFAULT_SCHEMA_PATH = "prisma/schema.prisma";
const LOCKFILE = "migration_lock.toml";
const MIGRATION_FILE = "migration.sql";
const NO_FILTER: SchemaFilter = { externalTables: [], externalEnums: [] };

/**
 * Applies every migration under `migrationsDir` that the database has not recorded yet, in name
 * order, each in one implicit transaction. Idempotent: a second run applies nothing.
 */
export async function applyMigrations(
  adapterFactory: MigrationAdapterFactory,
  options: MigrationPaths = {},
): Promise<{ applied: string[] }> {
  const migrationsList = await readMigrations(options.migrationsDir);
  // A wrong working directory would otherwise "apply nothing" and leave the app without tables.
  if (!(await isDirectory(migrationsList.baseDir))) {
    throw new Error(`Applying migrations failed: no migrations directory at ${migrationsList.baseDir}`);
  }
  const schemaPath = path.resolve(options.schemaPath ?? DEFAULT_SCHEMA_PATH);
  // Optional: a deployment may ship the migrations without the schema.
  const schema = await readOptional(schemaPath);
  const { appliedMigrationNames } = await withEngine(
    "Applying migrations",
    adapterFactory,
    schema === null ? undefined : [[schemaPath, schema]],
    (engine) => engine.applyMigrations({ migrationsList, filters: NO_FILTER }),
  );
  return { applied: appliedMigrationNames };
}

/**
 * SQL that takes a database from the `fromSchemaText` datamodel (null: an empty database) to
 * `toSchemaText`. The engine wants a database connection even for this, so it gets a throw-away
 * in-memory PGlite unless `adapterFactory` is given. An unchanged datamodel gives
 * "-- This is an empty migration.".
 */
export async function diffMigrationSql(
  fromSchemaText: string | null,
  toSchemaText: string,
  options: { adapterFactory?: MigrationAdapterFactory } = {},
): Promise<string> {
  const run = (factory: MigrationAdapterFactory) =>
    withEngine("Diffing schemas", factory, undefined, (engine) =>
      engine.diff({
        from: fromSchemaText === null ? { tag: "empty" } : { tag: "schemaDatamodel", files: [{ path: "from/schema.prisma", content: fromSchemaText }] },
        to: { tag: "schemaDatamodel", files: [{ path: "to/schema.prisma", content: toSchemaText }] },
        script: true,
        exitCode: null,
        filters: NO_FILTER,
      }),
    );
  const result = options.adapterFactory ? await run(options.adapterFactory) : await withScratchDatabase(run);
  return result.stdout ?? "";
}

/**
 * The next migration: SQL from the database the committed migrations build (applied to a
 * throw-away in-memory PGlite, so they are also checked to apply cleanly) to the current schema.
 * Null when the schema adds nothing. This is `migrate dev` without its shadow database.
 */
export async function draftMigrationSql(options: MigrationPaths = {}): Promise<string | null> {
  const schemaPath = path.resolve(options.schemaPath ?? DEFAULT_SCHEMA_PATH);
  const schema = await fs.readFile(schemaPath, "utf8");
  const committed = await readMigrations(options.migrationsDir);
  return withScratchDatabase(async (factory) => {
    if (committed.migrationDirectories.length) await applyMigrations(factory, options);
    const files = [{ path: schemaPath, content: schema }];
    const result = await withEngine("Diffing the migrated database against the schema", factory, [[schemaPath, schema]], (engine) =>
      engine.diff({
        // The live database behind the adapter (the datasource block carries no URL in Prisma 7).
        from: { tag: "schemaDatasource", files, configDir: path.dirname(schemaPath) },
        to: { tag: "schemaDatamodel", files },
        script: true,
        exitCode: true,
        filters: NO_FILTER,
      }),
    );
    // With `exitCode` set the engine answers 2 when the diff is not empty, 0 when it is.
    return result.exitCode === 2 ? (result.stdout ?? "") : null;
  });
}

/** The migrations directory as `prisma migrate deploy` reads it: subdirectories in name order. */
export async function readMigrations(migrationsDir = DEFAULT_MIGRATIONS_DIR): Promise<MigrationList> {
  const baseDir = path.resolve(migrationsDir);
  const entries = await fs.readdir(baseDir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const names = entries
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => a.localeCompare(b));
  return {
    baseDir,
    lockfile: { path: LOCKFILE, content: await readOptional(path.join(baseDir, LOCKFILE)) },
    shadowDbInitScript: "",
    migrationDirectories: await Promise.all(
      names.map(async (name) => ({
        path: name,
        migrationFile: {
          path: MIGRATION_FILE,
          // An unreadable file is reported by the engine with the migration's name.
          content: await fs.readFile(path.join(baseDir, name, MIGRATION_FILE), "utf8").then(
            (value) => ({ tag: "ok" as const, value }),
            (error: Error) => ({ tag: "error" as const, value: error.message }),
          ),
        },
      })),
    ),
  };
}

async function isDirectory(dir: string): Promise<boolean> {
  return fs.stat(dir).then(
    (stat) => stat.isDirectory(),
    () => false,
  );
}

async function readOptional(file: string): Promise<string | null> {
  return fs.readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return null;
    throw error;
  });
}

async function withScratchDatabase<T>(fn: (factory: MigrationAdapterFactory) => Promise<T>): Promise<T> {
  const scratch = await openDatabase({ dataDir: "memory://" });
  try {
    return await fn(scratch.adapterFactory);
  } finally {
    await scratch.close();
  }
}

type EngineModule = typeof SchemaEngineModule;

// Once per process: the module is 5 MB of WebAssembly. Kept on globalThis because test runners
// and dev-mode reloads evaluate this file more than once.
const wasmKey = Symbol.for("portico.schemaEngineWasm");
const globalWasm = globalThis as unknown as { [wasmKey]?: Promise<EngineModule> };

function loadEngine(): Promise<EngineModule> {
  globalWasm[wasmKey] ??= (async () => {
    const bindings: EngineModule = await import("@prisma/schema-engine-wasm/schema_engine_bg");
    // The package's own entry imports the .wasm as an ES module, which Node does not support.
    const bytes = await fs.readFile(wasmPath());
    const { instance } = await WebAssembly.instantiate(bytes, { "./schema_engine_bg.js": bindings });
    const exports = instance.exports as Parameters<EngineModule["__wbg_set_wasm"]>[0] & { __wbindgen_start?: () => void };
    bindings.__wbg_set_wasm(exports);
    exports.__wbindgen_start?.();
    return bindings;
  })().catch((error: unknown) => {
    globalWasm[wasmKey] = undefined;
    throw new Error(`Could not load the Prisma schema engine (WebAssembly): ${message(error)}`, { cause: error });
  });
  return globalWasm[wasmKey];
}

function wasmPath(): string {
  try {
    const js = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    return path.join(path.dirname(js), "schema_engine_bg.wasm");
  } catch {
    // Bundled server code may not resolve from import.meta.url; the app runs from its root.
    return path.resolve("node_modules/@prisma/schema-engine-wasm/schema_engine_bg.wasm");
  }
}

/**
 * Runs one engine command. The engine opens its connections through the factory and never
 * closes them (nor releases its advisory lock): they are disposed here when the command ends.
 */
async function withEngine<T>(
  operation: string,
  adapterFactory: MigrationAdapterFactory,
  datamodels: [string, string][] | undefined,
  command: (engine: SchemaEngine) => Promise<T>,
): Promise<T> {
  const { SchemaEngine } = await loadEngine();
  const opened: SqlDriverAdapter[] = [];
  const track = async (adapter: Promise<SqlDriverAdapter>) => {
    const a = await adapter;
    opened.push(a);
    return a;
  };
  const bound = bindMigrationAwareSqlAdapterFactory({
    provider: adapterFactory.provider,
    adapterName: adapterFactory.adapterName,
    connect: () => track(adapterFactory.connect()),
    connectToShadowDb: () => track(adapterFactory.connectToShadowDb()),
  });
  // Engine log lines (JSON) are kept quiet and only quoted when the command fails.
  const logs: string[] = [];
  let engine: SchemaEngine | undefined;
  try {
    engine = await SchemaEngine.new({ datamodels }, (line: string) => void logs.push(line), bound);
    return await command(engine);
  } catch (error) {
    throw engineError(operation, error, bound.errorRegistry, logs);
  } finally {
    engine?.free();
    const disposed = await Promise.allSettled(opened.map((adapter) => adapter.dispose()));
    const failed = disposed.find((result) => result.status === "rejected");
    if (failed) console.error(`${operation}: could not close a database connection: ${message(failed.reason)}`);
  }
}

function engineError(
  operation: string,
  error: unknown,
  registry: { consumeError(id: number): { error: unknown } | undefined },
  logs: string[],
): Error {
  let text = message(error);
  let cause = error;
  // Errors thrown in JavaScript (connection refused, …) cross the engine as "External error id#N".
  const external = /External error id#(\d+)/.exec(text);
  const original = external ? registry.consumeError(Number(external[1]))?.error : undefined;
  if (original !== undefined) {
    text = message(original);
    cause = original;
  }
  const warnings = logs
    .map((line) => {
      try {
        return JSON.parse(line) as { level?: string; fields?: { message?: string } };
      } catch {
        return undefined;
      }
    })
    .filter((entry) => entry?.level === "ERROR" || entry?.level === "WARN")
    .map((entry) => entry?.fields?.message)
    .filter(Boolean);
  const detail = warnings.length ? `\n${warnings.join("\n")}` : "";
  return new Error(`${operation} failed: ${text}${detail}`, { cause });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
