/**
 * `npm run audit:verify`: verifies the audit hash chain and its signed checkpoints in the database
 * (DATABASE_URL, or the embedded PGlite under PORTICO_DATA_DIR), and records the outcome as an
 * audit event. Exit code 0 when verified, 1 when broken, 2 when it could not run.
 *
 * `npm run audit:verify -- --file export.jsonl [--keys jwks.json | --keys https://portal/api/internal/config/jwks]`:
 * verifies an exported file offline, without the database, against the control plane's published
 * keys. Without --keys the keys inside the file are used, which proves only internal consistency.
 */
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import type { JSONWebKeySet } from "jose";
import { verifyExport } from "../lib/audit/verify-export";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const out = (line: string) => process.stdout.write(`${line}\n`);

async function loadKeys(source: string): Promise<JSONWebKeySet> {
  const text = /^https?:\/\//.test(source) ? await (await fetch(source)).text() : fs.readFileSync(source, "utf8");
  return JSON.parse(text) as JSONWebKeySet;
}

async function verifyFile(file: string, keysSource: string | undefined): Promise<number> {
  const keys = keysSource ? await loadKeys(keysSource) : undefined;
  const open = () => readline.createInterface({ input: fs.createReadStream(file, "utf8"), crlfDelay: Infinity });
  const result = await verifyExport(open, keys);
  if (result.keysFromFile) out("warning: no --keys given; checkpoints were checked against the keys inside the file (fetch the published keys for real evidence)");
  if (result.ok) {
    out(`verified: ${result.checked} events${result.isContiguous ? ", contiguous chain" : " (filtered export: each event checked against its own predecessor hash)"}`);
    out(result.lastCheckpoint ? `signed checkpoints matched: ${result.checkpointsMatched}, the last at seq ${result.lastCheckpoint.seq}` : "no signed checkpoint falls on an exported event");
    return 0;
  }
  const f = result.failure!;
  out(f.seq ? `BROKEN at seq ${f.seq}: ${f.problem}: ${f.detail}` : `NOT VERIFIED: ${f.detail}`);
  return 1;
}

async function verifyDatabase(): Promise<number> {
  const { openDatabase } = await import("../lib/server/db/client");
  const { runAuditVerification } = await import("../lib/server/audit-verify");
  const { systemActor } = await import("../lib/server/auth/actor");
  const opened = await openDatabase({ url: process.env.DATABASE_URL || undefined, dataDir: path.join(process.env.PORTICO_DATA_DIR ?? ".data", "pglite") });
  try {
    const result = await runAuditVerification(opened.db, systemActor("audit:verify CLI"), {
      onProgress: (p) => process.stderr.write(`\r${p.checked}/${p.total} events checked`),
    });
    process.stderr.write("\n");
    if (result.ok) {
      out(result.verifiedUpTo ? `verified up to seq ${result.verifiedUpTo.seq} at ${result.verifiedUpTo.time} (${result.checked} events, ${result.checkpoints} signed checkpoints${result.purgesBridged ? `, ${result.purgesBridged} retention holes crossed on signed purge records` : ""})` : "verified: the log is empty");
      return 0;
    }
    const f = result.failure!;
    out(`BROKEN at seq ${f.seq} (${f.time}): ${f.problem}: ${f.detail}`);
    if (result.verifiedUpTo) out(`intact up to seq ${result.verifiedUpTo.seq}`);
    return 1;
  } finally {
    await opened.close();
  }
}

const file = arg("--file");
(file ? verifyFile(file, arg("--keys")) : verifyDatabase())
  .then((code) => {
    process.exitCode = code;
  })
  .catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  });
