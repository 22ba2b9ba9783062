import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { AuditEventInput } from "@/lib/audit/event";
import type { Actor } from "./auth/actor";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
const { createTestDatabase } = await import("./db/test-database");
const { ingestAuditEvents } = await import("./audit-ingest");
const { startVerificationJob, listVerificationJobs, getVerificationJob, cancelVerificationJob, closeInterruptedVerifications } = await import("./audit-verification-jobs");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const auditor: Actor = { type: "user", userId: "u-auditor", email: "auditor@example.test", name: "Auditor", role: "auditor", mfa: true };
const viewer: Actor = { ...auditor, userId: "u-viewer", role: "viewer" };

const event = (i: number): AuditEventInput => ({ id: randomUUID(), time: new Date(Date.UTC(2026, 11, 1, 0, 0, i)), kind: "auth.sign_in", actorType: "user", actorId: "u-bob", action: "sign_in.password", outcome: "success" });

beforeAll(async () => {
  t = await createTestDatabase();
  for (let b = 0; b < 4; b++) await ingestAuditEvents(t.db, Array.from({ length: 100 }, (_, i) => event(b * 100 + i)));
});
afterAll(async () => {
  await t?.close();
});

describe("chain verification as a job", () => {
  it("runs in the background, keeps its result, and lists it", async () => {
    const { job, done } = await startVerificationJob(t.db, auditor, { chunk: 50 });
    expect(job).toMatchObject({ status: "running", startedBy: "auditor@example.test", total: 400 });
    await done;
    const finished = await getVerificationJob(t.db, auditor, job.id);
    expect(finished).toMatchObject({ status: "passed", checked: 400, failure: null });
    expect(finished.verifiedUpTo?.seq).toBe((await t.db.auditEvent.findFirstOrThrow({ where: { kind: "auth.sign_in" }, orderBy: { seq: "desc" } })).seq.toString());
    expect((await listVerificationJobs(t.db, auditor, {})).items.map((j) => j.id)).toContain(job.id);
    await expect(startVerificationJob(t.db, viewer)).rejects.toMatchObject({ code: "forbidden" });
  });

  it("names the broken seq in the stored result", async () => {
    const victim = await t.db.auditEvent.findFirstOrThrow({ orderBy: { seq: "asc" }, skip: 123 });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = 'failure' WHERE "seq" = ${victim.seq}`;
    const { job, done } = await startVerificationJob(t.db, auditor, { chunk: 50 });
    await done;
    expect(await getVerificationJob(t.db, auditor, job.id)).toMatchObject({ status: "failed", failure: { seq: victim.seq.toString(), problem: "edited" } });
    await t.db.$executeRaw`UPDATE "AuditEvent" SET "outcome" = 'success' WHERE "seq" = ${victim.seq}`;
  });

  it("stops at the next chunk when cancelled from another request, and says so", async () => {
    const { job, done } = await startVerificationJob(t.db, auditor, { chunk: 1 });
    // A second start while it runs returns the same job rather than a second walk.
    expect((await startVerificationJob(t.db, auditor)).job.id).toBe(job.id);
    await cancelVerificationJob(t.db, auditor, job.id);
    await done;
    const cancelled = await getVerificationJob(t.db, auditor, job.id);
    expect(cancelled.status).toBe("cancelled");
    expect(cancelled.checked).toBeLessThan(400);
    await expect(cancelVerificationJob(t.db, auditor, job.id)).rejects.toMatchObject({ code: "conflict" });
  });

  it("shows a run whose process died as interrupted", async () => {
    const row = await t.db.auditVerification.create({ data: { startedByLabel: "gone", heartbeatAt: new Date(Date.now() - 10 * 60_000) } });
    expect((await getVerificationJob(t.db, auditor, row.id)).status).toBe("interrupted");
  });

  it("closes a run its dead process left running, at start-up, and then lets a new run start", async () => {
    const diedAt = new Date(Date.now() - 10 * 60_000);
    // What a control plane killed mid-run leaves behind.
    const orphan = await t.db.auditVerification.create({ data: { startedByLabel: "killed", checked: 120, total: 400, heartbeatAt: diedAt } });
    // A run another live process is doing beats its heartbeat: it stays running.
    const live = await t.db.auditVerification.create({ data: { startedByLabel: "alive", heartbeatAt: new Date() } });

    // (With the row of the test above, also left by a process that died.)
    expect(await closeInterruptedVerifications(t.db)).toBeGreaterThanOrEqual(1);

    const closed = await getVerificationJob(t.db, auditor, orphan.id);
    expect(closed).toMatchObject({ status: "interrupted", checked: 120, finishedAt: diedAt.toISOString() });
    expect((await t.db.auditVerification.findUniqueOrThrow({ where: { id: orphan.id } })).status).toBe("interrupted");
    expect((await getVerificationJob(t.db, auditor, live.id)).status).toBe("running");
    await expect(cancelVerificationJob(t.db, auditor, orphan.id)).rejects.toMatchObject({ code: "conflict" });

    // The live one is someone else's run in progress; once it is gone too, a new run starts.
    await t.db.auditVerification.update({ where: { id: live.id }, data: { status: "passed", finishedAt: new Date() } });
    const { job, done } = await startVerificationJob(t.db, auditor, { chunk: 100 });
    expect(job.id).not.toBe(orphan.id);
    await done;
    expect((await getVerificationJob(t.db, auditor, job.id)).status).toBe("passed");
  });
});
