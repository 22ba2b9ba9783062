// No `server-only` here: lib/server/db/client.ts registers every database it opens (CLI, tests too).
import type { PGlite } from "@electric-sql/pglite";
import pg from "pg";
import type { Db } from "./client";

const { types: pgTypeParsers } = pg;

/**
 * One query through the driver under a Prisma client (the `pg` pool or the PGlite instance it was
 * opened with), rows as objects keyed by column name, with Prisma's types for the columns
 * Portico's tables use: int8 as bigint, timestamp (without time zone, which Prisma writes as UTC)
 * as a Date read as UTC, json and jsonb parsed, int4 as a number, text as a string. Both drivers
 * would otherwise read a timestamp in the process's time zone, and `pg` an int8 as a string.
 * Parameters are $1, $2, …
 *
 * Why: a bulk read through the Prisma client costs far more garbage per row than the rows
 * themselves (its result path builds and converts each value several times), and a long read
 * such as an audit export turns that into peak memory (bench/audit-export.ts). The few reads that
 * stream many rows take them as the driver parsed them.
 */
export type DriverQuery = <Row extends Record<string, unknown>>(sql: string, params: unknown[]) => Promise<Row[]>;

const INT8 = 20;
const TIMESTAMP = 1114;
const parseInt8 = (value: string) => BigInt(value);
/** `2026-12-07 18:05:42.123` (Postgres's text form) as that instant in UTC. */
const parseUtcTimestamp = (value: string) => new Date(`${value.replace(" ", "T")}Z`);
const PARSERS: Record<number, (value: string) => unknown> = { [INT8]: parseInt8, [TIMESTAMP]: parseUtcTimestamp };
const pgTypes = {
  getTypeParser: ((oid: number, format?: string) => PARSERS[oid] ?? pgTypeParsers.getTypeParser(oid, format as "text")) as pg.CustomTypesConfig["getTypeParser"],
};

// On globalThis: the database is opened by the server's own module graph (server.ts, instance.ts)
// and read by route code that Next.js bundles with its own copy of this module.
const globalForDrivers = globalThis as unknown as { porticoDbDrivers?: WeakMap<Db, DriverQuery> };
const drivers = (globalForDrivers.porticoDbDrivers ??= new WeakMap<Db, DriverQuery>());

/** Called by openDatabase for the client it opens, with the driver that client runs on. */
export function registerDriver(db: Db, driver: { pool: pg.Pool } | { pglite: PGlite }): void {
  drivers.set(
    db,
    "pool" in driver
      ? async <Row extends Record<string, unknown>>(sql: string, params: unknown[]) => (await driver.pool.query<Row>({ text: sql, values: params, types: pgTypes })).rows
      : async <Row extends Record<string, unknown>>(sql: string, params: unknown[]) => (await driver.pglite.query<Row>(sql, params, { parsers: PARSERS })).rows,
  );
}

/**
 * The driver under `db`. Throws for a client openDatabase did not open (a transaction client, or
 * one built by hand): a read that must see a transaction's writes goes through that transaction.
 */
export function driverQuery(db: Db): DriverQuery {
  const query = drivers.get(db);
  if (!query) throw new Error("This Prisma client was not opened by openDatabase: no driver to read through");
  return query;
}
