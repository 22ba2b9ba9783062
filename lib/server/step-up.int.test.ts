import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf } from "./testing/data-access";

process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
process.env.AUTH_SECRET = randomBytes(32).toString("base64url");
process.env.PORTICO_CONTROL_PLANE_URL = "http://127.0.0.1:3999";
process.env.PORTICO_GATEWAY_URL = "http://127.0.0.1:4999";

const { createTestDatabase } = await import("./db/test-database");
const stepUp = await import("./step-up");
const { buildSnapshot } = await import("./config-versions");
const { argumentsHash } = await import("@/lib/config/elevated-grants");
const { ingestAuditEvents } = await import("./audit-ingest");
import type { Actor } from "./auth/actor";
import type { Requester } from "./step-up";

/**
 * Step-up against a real database: the state machine, every abuse rule of issue 10 (each refused
 * with a clear error and nothing changed), and time passing, with a clock the test moves.
 */

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let portalSlug: string;
let aliceReq: Requester;
let alice: Actor;
let bob: Actor;
let carol: Actor;
let viewer: Actor;
let outsider: Actor;

const T0 = new Date("2026-12-07T09:00:00Z");
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

async function person(email: string, role: "admin" | "approver" | "viewer", groups: string[] = []): Promise<Actor> {
  const u = await t.db.user.create({ data: { email, name: email.split("@")[0]!, role, idpGroups: groups } });
  return { type: "user", userId: u.id, email, name: u.name, role, mfa: true };
}

const file = (who: Requester, body: Record<string, unknown>, now = T0) =>
  stepUp.fileStepUpRequest(t.db, who, { portal: portalSlug, riskClass: "write", reason: "tag the Q4 accounts", durationMinutes: 30, ...body }, now);

const eventsOf = (kind: string, targetId: string) => t.db.auditEvent.findMany({ where: { kind, targetId } });

beforeAll(async () => {
  t = await createTestDatabase();
  const portal = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  portalSlug = portal.slug;
  alice = await person("alice@t.local", "admin", ["analysts"]);
  bob = await person("bob@t.local", "approver", ["finops-managers"]);
  carol = await person("carol@t.local", "approver");
  viewer = await person("vic@t.local", "viewer", ["analysts"]);
  outsider = await person("olga@t.local", "viewer");
  await t.db.portalRole.create({
    data: {
      slug: "analyst",
      name: "Analyst",
      stepUpRiskClasses: ["write", "financial"],
      perCallRiskClasses: ["financial"],
      stepUpMaxMinutes: 30,
      principals: { create: [{ kind: "group", value: "analysts" }] },
      grants: { create: [{ portalId: portal.id, riskClasses: ["read"] }] },
    },
  });
  aliceReq = await stepUp.userRequester(t.db, (alice as { userId: string }).userId);
});

afterAll(async () => {
  await t?.close();
});

describe("filing", () => {
  it("files a pending request, audited, expiring after 30 minutes", async () => {
    const view = await file(aliceReq, {});
    expect(view).toMatchObject({ status: "pending", riskClass: "write", durationMinutes: 30, requester: { label: "alice@t.local" }, role: { slug: "analyst" } });
    expect(view.expiresAt).toBe(at(30).toISOString());
    expect(await eventsOf("stepup.requested", view.id)).toHaveLength(1);
    await stepUp.withdrawStepUpRequest(t.db, aliceReq, view.id, at(1));
  });

  it("refuses what the role does not allow, and files nothing", async () => {
    const before = await t.db.stepUpRequest.count();
    const notListed = await errorOf(file(aliceReq, { riskClass: "destructive" }));
    expect(notListed).toMatchObject({ status: 403, message: expect.stringContaining("destructive") });
    const tooLong = await errorOf(file(aliceReq, { durationMinutes: 60 }));
    expect(tooLong).toMatchObject({ status: 422, fieldErrors: [{ field: "durationMinutes", message: "Pick 15, 30 minutes" }] });
    const oddLength = await errorOf(file(aliceReq, { durationMinutes: 45 }));
    expect(oddLength).toMatchObject({ status: 422 });
    const noRole = await errorOf(file(await stepUp.userRequester(t.db, (outsider as { userId: string }).userId), {}));
    expect(noRole).toMatchObject({ status: 403 });
    const perCallWithoutArgs = await errorOf(file(aliceReq, { riskClass: "financial" }));
    expect(perCallWithoutArgs).toMatchObject({ status: 422, fieldErrors: [{ field: "arguments" }] });
    expect(await t.db.stepUpRequest.count()).toBe(before);
  });

  it("keeps one pending request per requester, portal and risk class", async () => {
    const first = await file(aliceReq, {}, at(2));
    const second = await errorOf(file(aliceReq, { reason: "again" }, at(2)));
    expect(second).toMatchObject({ status: 409, message: expect.stringContaining(first.id) });
    await stepUp.withdrawStepUpRequest(t.db, aliceReq, first.id, at(2));
  });

  it("rate-limits a flood from one requester", async () => {
    const vic = await stepUp.userRequester(t.db, (viewer as { userId: string }).userId);
    const now = at(100);
    for (let i = 0; i < stepUp.RATE_LIMIT.count; i++) {
      const r = await file(vic, {}, now);
      await stepUp.withdrawStepUpRequest(t.db, vic, r.id, now);
    }
    expect(await errorOf(file(vic, {}, now))).toMatchObject({ status: 429 });
    // The window moves on.
    const later = await file(vic, {}, at(111));
    await stepUp.withdrawStepUpRequest(t.db, vic, later.id, at(111));
  });
});

describe("deciding", () => {
  it("never lets requesters approve their own request, not even as admin", async () => {
    const mine = await file(aliceReq, {}, at(200));
    const error = await errorOf(stepUp.approveStepUpRequest(t.db, alice, mine.id, {}, at(201)));
    expect(error).toMatchObject({ status: 403, message: expect.stringContaining("separation of duties") });
    expect((await stepUp.getStepUpRequest(t.db, bob, mine.id, at(201))).status).toBe("pending");
    await stepUp.withdrawStepUpRequest(t.db, aliceReq, mine.id, at(201));
  });

  it("approves once, never longer than asked, and makes an active grant on the snapshot", async () => {
    const req = await file(aliceReq, {}, at(300));
    expect(await errorOf(stepUp.approveStepUpRequest(t.db, viewer, req.id, {}, at(301)))).toMatchObject({ status: 403 });
    expect(await errorOf(stepUp.approveStepUpRequest(t.db, bob, req.id, { durationMinutes: 45 }, at(301)))).toMatchObject({ status: 422 });
    const approved = await stepUp.approveStepUpRequest(t.db, bob, req.id, { durationMinutes: 15, note: "ok for Q4" }, at(301));
    expect(approved).toMatchObject({ status: "approved", durationMinutes: 15, decidedBy: "bob@t.local" });
    expect(await errorOf(stepUp.approveStepUpRequest(t.db, carol, req.id, {}, at(302)))).toMatchObject({ status: 409, message: expect.stringContaining("already approved") });
    expect(await errorOf(stepUp.denyStepUpRequest(t.db, carol, req.id, { note: "too late" }, at(302)))).toMatchObject({ status: 409 });
    expect(await t.db.elevatedGrant.count({ where: { requestId: req.id } })).toBe(1);

    const snapshot = await buildSnapshot(t.db, 1, at(302));
    expect(snapshot.elevatedGrants).toEqual([
      expect.objectContaining({ id: approved.grantId, principalKind: "user", subject: aliceReq.kind === "user" ? aliceReq.userId : "", portalSlug, riskClass: "write", endsAt: at(316).toISOString() }),
    ]);
    const audit = await eventsOf("stepup.approved", req.id);
    expect(audit[0]?.data).toMatchObject({ grantId: approved.grantId, durationMinutes: 15 });
    expect(audit[0]).toMatchObject({ action: "stepup.approve", outcome: "success", actorType: "user", actorLabel: "bob@t.local", targetType: "step_up_request", portal: portalSlug });

    // Time moves past the grant's end: off the snapshot at once, written down by the sweep.
    expect((await buildSnapshot(t.db, 2, at(316))).elevatedGrants ?? []).toEqual([]);
    expect(await stepUp.sweepStepUps(t.db, at(317))).toMatchObject({ endedGrants: 1 });
    expect((await stepUp.getElevatedGrant(t.db, bob, approved.grantId!, at(317))).status).toBe("ended");
    expect(await eventsOf("stepup.expired", approved.grantId!)).toEqual([
      expect.objectContaining({ action: "stepup.grant_end", actorType: "system", actorLabel: "step-up expiry", targetType: "elevated_grant", data: expect.objectContaining({ requestId: req.id, grantId: approved.grantId }) }),
    ]);
  });

  it("narrows approvers to those a role names", async () => {
    await t.db.portalRole.update({ where: { slug: "analyst" }, data: { stepUpApprovers: ["finops-managers"] } });
    try {
      const req = await file(aliceReq, {}, at(400));
      const listed = await stepUp.listStepUpRequests(t.db, carol, { status: "pending" }, at(400));
      expect(listed.items[0]).toMatchObject({ id: req.id, canDecide: false, cannotDecideReason: expect.stringContaining("approvers") });
      expect(await stepUp.countDecidableRequests(t.db, carol, at(400))).toBe(0);
      expect(await stepUp.countDecidableRequests(t.db, bob, at(400))).toBe(1);
      expect(await errorOf(stepUp.approveStepUpRequest(t.db, carol, req.id, {}, at(401)))).toMatchObject({ status: 403 });
      await stepUp.approveStepUpRequest(t.db, bob, req.id, {}, at(401));
    } finally {
      await t.db.portalRole.update({ where: { slug: "analyst" }, data: { stepUpApprovers: [] } });
    }
  });

  it("denies only with a note, which the requester sees", async () => {
    const req = await file(aliceReq, {}, at(500));
    expect(await errorOf(stepUp.denyStepUpRequest(t.db, bob, req.id, {}, at(501)))).toMatchObject({ status: 422, fieldErrors: [{ field: "note" }] });
    await stepUp.denyStepUpRequest(t.db, bob, req.id, { note: "use the staging account" }, at(501));
    const seen = await stepUp.findOwnStepUpRequest(t.db, aliceReq, req.id, at(502));
    expect(seen).toMatchObject({ status: "denied", decisionNote: "use the staging account", grantId: null });
    expect(await eventsOf("stepup.denied", req.id)).toHaveLength(1);
  });
});

describe("time and revocation", () => {
  it("expires a pending request after 30 minutes; it can no longer be approved", async () => {
    const req = await file(aliceReq, {}, at(600));
    expect((await stepUp.listStepUpRequests(t.db, bob, { status: "pending" }, at(629))).items.map((r) => r.id)).toContain(req.id);
    expect((await stepUp.listStepUpRequests(t.db, bob, { status: "pending" }, at(630))).items.map((r) => r.id)).not.toContain(req.id);
    const error = await errorOf(stepUp.approveStepUpRequest(t.db, bob, req.id, {}, at(631)));
    expect(error).toMatchObject({ status: 409, message: expect.stringContaining("expired") });
    expect((await t.db.stepUpRequest.findUniqueOrThrow({ where: { id: req.id } })).status).toBe("expired");
    expect(await eventsOf("stepup.expired", req.id)).toEqual([expect.objectContaining({ action: "stepup.expire", actorType: "system", targetType: "step_up_request" })]);
    expect(await t.db.elevatedGrant.count({ where: { requestId: req.id } })).toBe(0);
    // Expired, so Alice may ask again.
    const again = await file(aliceReq, {}, at(632));
    await stepUp.withdrawStepUpRequest(t.db, aliceReq, again.id, at(632));
    expect(await errorOf(stepUp.approveStepUpRequest(t.db, bob, again.id, {}, at(633)))).toMatchObject({ status: 409, message: expect.stringContaining("withdrawn") });
  });

  it("revokes an active grant once; it leaves the snapshot", async () => {
    const req = await file(aliceReq, {}, at(700));
    const { grantId } = await stepUp.approveStepUpRequest(t.db, carol, req.id, {}, at(701));
    expect((await stepUp.listElevatedGrants(t.db, carol, { status: "active" }, at(702))).items.map((g) => g.id)).toEqual([grantId]);
    expect(await errorOf(stepUp.revokeElevatedGrant(t.db, viewer, grantId!, at(702)))).toMatchObject({ status: 403 });
    const revoked = await stepUp.revokeElevatedGrant(t.db, bob, grantId!, at(702));
    expect(revoked).toMatchObject({ status: "revoked", revokedBy: "bob@t.local" });
    expect(await errorOf(stepUp.revokeElevatedGrant(t.db, bob, grantId!, at(703)))).toMatchObject({ status: 409 });
    expect((await buildSnapshot(t.db, 3, at(703))).elevatedGrants ?? []).toEqual([]);
    expect(await eventsOf("stepup.revoked", grantId!)).toEqual([expect.objectContaining({ action: "stepup.revoke", actorLabel: "bob@t.local", targetType: "elevated_grant" })]);
  });

  it("binds a per-call approval to the exact arguments and uses it up", async () => {
    const args = { account: "123456789012", amount: 5000 };
    const req = await file(aliceReq, { riskClass: "financial", server: "budgets", tool: "set_budget", arguments: args }, at(800));
    expect(req).toMatchObject({ isPerCall: true, arguments: args, durationMinutes: 15 });
    const { grantId } = await stepUp.approveStepUpRequest(t.db, bob, req.id, {}, at(801));
    const [grant] = (await buildSnapshot(t.db, 4, at(802))).elevatedGrants!;
    expect(grant).toMatchObject({ id: grantId, serverSlug: "budgets", toolName: "set_budget", argumentsHash: argumentsHash({ amount: 5000, account: "123456789012" }) });
    // The gateway's audit event of the call names the grant; ingesting it uses the grant up (once, even if re-sent).
    const event = { id: randomUUID(), time: at(803).toISOString(), kind: "mcp.request", actorType: "user", actorId: aliceReq.kind === "user" ? aliceReq.userId : "", action: "tools/call", outcome: "allow", portal: portalSlug, data: { grantId } };
    await ingestAuditEvents(t.db, [event]);
    await ingestAuditEvents(t.db, [event]);
    expect((await t.db.elevatedGrant.findUniqueOrThrow({ where: { id: grantId! } })).useCount).toBe(1);
    expect((await stepUp.getElevatedGrant(t.db, bob, grantId!, at(803))).status).toBe("used");
    expect((await buildSnapshot(t.db, 5, at(803))).elevatedGrants ?? []).toEqual([]);
  });

  it("dates what ended while nothing swept (the control plane down) at its end, not at the late sweep", async () => {
    const vic = await stepUp.userRequester(t.db, (viewer as { userId: string }).userId);
    const short = await file(aliceReq, { durationMinutes: 15 }, at(1000));
    const long = await file(vic, { durationMinutes: 30 }, at(1000));
    const { grantId: shortGrant } = await stepUp.approveStepUpRequest(t.db, bob, short.id, {}, at(1001));
    const { grantId: longGrant } = await stepUp.approveStepUpRequest(t.db, bob, long.id, {}, at(1001));
    const pending = await file(aliceReq, { riskClass: "financial", server: "budgets", tool: "set_budget", arguments: { amount: 1 } }, at(1002));
    // Nothing runs until hours later: each event carries its own end time ...
    await stepUp.sweepStepUps(t.db, at(1300));
    const [requestEnd] = await eventsOf("stepup.expired", pending.id);
    const [shortEnd] = await eventsOf("stepup.expired", shortGrant!);
    const [longEnd] = await eventsOf("stepup.expired", longGrant!);
    expect(requestEnd?.time).toEqual(at(1032));
    expect(shortEnd?.time).toEqual(at(1016));
    expect(longEnd?.time).toEqual(at(1031));
    // ... while seq stays the order written (requests first, then grants), by design.
    expect(requestEnd!.seq < shortEnd!.seq && requestEnd!.seq < longEnd!.seq).toBe(true);
  });
});
