import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Actor } from "./auth/actor";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
const { createTestDatabase } = await import("./db/test-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { verifyAuditChain, runAuditVerification } = await import("./audit-verify");
const { signChainHead } = await import("./audit-checkpoints");
const { exportResponse } = await import("./audit-export");
const { verifyExport } = await import("@/lib/audit/verify-export");
const { publicJwks } = await import("./signing-keys");
const { parse } = await import("csv-parse/sync");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const auditor: Actor = { type: "user", userId: "u-auditor", email: "auditor@example.test", name: "Auditor", role: "auditor", mfa: true };
const approver: Actor = { ...auditor, userId: "u-approver", role: "approver" };

const event = (i: number): AuditEventInput => ({
  id: randomUUID(),
  time: new Date(Date.UTC(2026, 11, 1, 0, 0, i)),
  kind: "mcp.request",
  actorType: "user",
  actorId: "u-bob",
  actorLabel: "bob@example.test",
  action: "tools/call",
  outcome: i % 3 === 0 ? "deny" : "allow",
  portal: "finops",
  server: "budgets",
  tool: "get_budget",
  reasons: i % 3 === 0 ? ["needs step-up"] : null,
  data: { sessionId: `s-${i % 4}`, arguments: { month: `2026-${(i % 12) + 1}`, note: 'quote " comma , newline\nend' } },
  sourceIp: "10.0.0.1",
  requestId: randomUUID(),
});

async function seqOf(offset: number): Promise<bigint> {
  const rows = await t.db.auditEvent.findMany({ orderBy: { seq: "asc" }, skip: offset, take: 1, select: { seq: true } });
  return rows[0]!.seq;
}

async function exportText(actor: Actor, params: Record<string, string>): Promise<string> {
  return (await exportResponse(t.db, actor, params)).text();
}

const linesOf = (text: string) => () =>
  (async function* () {
    for (const line of text.split("\n")) yield line;
  })();

beforeAll(async () => {
  t = await createTestDatabase();
  for (let b = 0; b < 5; b++) await ingestAuditEvents(t.db, Array.from({ length: 50 }, (_, i) => event(b * 50 + i)));
});
afterAll(async () => {
  await t?.close();
});

describe("audit chain verification", () => {
  it("verifies the whole chain in chunks, reporting progress, up to the last seq", async () => {
    const progress: number[] = [];
    const result = await verifyAuditChain(t.db, { chunk: 60, onProgress: (p) => progress.push(p.checked) });
    expect(result).toMatchObject({ ok: true, checked: 250, total: 250, failure: null });
    expect(result.verifiedUpTo?.seq).toBe((await seqOf(249)).toString());
    expect(progress).toEqual([60, 120, 180, 240, 250]);
  });

  it("names the seq of an edited row, then of a re-hashed one against a signed checkpoint", async () => {
    await signChainHead(t.db);
    const seq = await seqOf(99);
    const original = await t.db.auditEvent.findUniqueOrThrow({ where: { seq } });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = 'allow', "reasons" = NULL WHERE "seq" = ${seq}`;
    expect(original.outcome).toBe("deny");
    let result = await verifyAuditChain(t.db, { chunk: 60 });
    expect(result.failure).toMatchObject({ seq: seq.toString(), problem: "edited" });
    expect(result.verifiedUpTo?.seq).toBe((await seqOf(98)).toString());
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = ${original.outcome}, "reasons" = ${JSON.stringify(original.reasons)}::jsonb WHERE "seq" = ${seq}`;
    expect((await verifyAuditChain(t.db)).ok).toBe(true);

    // The head's hash replaced by another: caught by the signed checkpoint even if the content matched.
    const head = await seqOf(249);
    const row = await t.db.auditEvent.findUniqueOrThrow({ where: { seq: head } });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "hash" = ${"f".repeat(64)} WHERE "seq" = ${head}`;
    result = await verifyAuditChain(t.db);
    expect(result.failure).toMatchObject({ seq: head.toString(), problem: "edited" });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "hash" = ${row.hash} WHERE "seq" = ${head}`;
  });

  it("tells a reorder from a deletion", async () => {
    const a = await seqOf(10);
    const b = await seqOf(11);
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "seq" = -1 WHERE "seq" = ${a}`;
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${a} WHERE "seq" = ${b}`;
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${b} WHERE "seq" = -1`;
    expect((await verifyAuditChain(t.db)).failure).toMatchObject({ seq: a.toString(), problem: "reordered" });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "seq" = -1 WHERE "seq" = ${a}`;
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${a} WHERE "seq" = ${b}`;
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "seq" = ${b} WHERE "seq" = -1`;
    expect((await verifyAuditChain(t.db)).ok).toBe(true);
  });

  it("exports JSON Lines that verify offline against the published key, and CSV a spreadsheet reads", async () => {
    const text = await exportText(auditor, { format: "jsonl" });
    const keys = await publicJwks(t.db);
    const offline = await verifyExport(linesOf(text), keys);
    expect(offline).toMatchObject({ ok: true, checked: 250, isContiguous: true, keysFromFile: false });
    expect(offline.checkpointsMatched).toBeGreaterThanOrEqual(1);

    // One character changed in one exported argument: the file no longer verifies, at that seq.
    const lines = text.split("\n");
    const target = lines.findIndex((l) => l.includes('"record":"event"') && l.includes("2026-5"));
    lines[target] = lines[target]!.replace("2026-5", "2026-6");
    const tampered = await verifyExport(linesOf(lines.join("\n")), keys);
    expect(tampered.failure).toMatchObject({ problem: "edited", seq: JSON.parse(lines[target]!).seq });

    // A filtered export verifies row by row; an approver's (no payloads) says it cannot be checked.
    expect(await verifyExport(linesOf(await exportText(auditor, { format: "jsonl", outcome: "deny" })), keys)).toMatchObject({ ok: true, checked: 84, isContiguous: false });
    expect((await verifyExport(linesOf(await exportText(approver, { format: "jsonl" })), keys)).failure).toMatchObject({ problem: "invalid_file" });

    const csv = await exportText(auditor, { format: "csv", outcome: "deny" });
    const header = csv.split("\n")[0];
    expect(header).toBe("seq,id,time,kind,actorType,actorId,actorLabel,action,outcome,targetType,targetId,portal,server,tool,reasons,sourceIp,requestId,data,prevHash,hash,hashVersion,record");
    const records = parse(csv, { columns: true }) as Array<Record<string, string>>;
    // The events, then the signed checkpoints they span, told apart by the record column.
    expect(records.filter((r) => r.record === "event")).toHaveLength(84);
    const checkpoints = records.filter((r) => r.record === "checkpoint");
    expect(checkpoints.length).toBeGreaterThanOrEqual(1);
    const { verifyCheckpoint } = await import("@/lib/audit/checkpoint");
    const signed = await verifyCheckpoint(JSON.parse(checkpoints[0]!.data!).signature, keys);
    expect(signed).toMatchObject({ seq: checkpoints[0]!.seq, hash: checkpoints[0]!.hash });
    expect(JSON.parse(records[0]!.data!).arguments.note).toBe('quote " comma , newline\nend');
  });

  it("records its outcome as an audit event an alert rule can match", async () => {
    const seq = await seqOf(42);
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "action" = 'tools/list' WHERE "seq" = ${seq}`;
    const result = await runAuditVerification(t.db, auditor);
    expect(result.ok).toBe(false);
    const recorded = await t.db.auditEvent.findFirstOrThrow({ orderBy: { seq: "desc" } });
    expect(recorded).toMatchObject({ kind: "audit.verify.failed", outcome: "failure", targetId: seq.toString(), actorId: "u-auditor" });
    await expect(runAuditVerification(t.db, approver)).rejects.toThrow();
  });
});
