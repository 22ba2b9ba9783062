import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { listenAsControlPlane } from "./testing/control-plane";

/**
 * The My access page's reads, through the real route handlers with real API tokens: `mine=1`
 * lists only the caller's own requests and grants, whatever their role, so a manager sees their
 * own there rather than the queue, and a viewer (who may list no one's grants) sees their own.
 */

// The environment must be complete before any module reads it.
const controlPlane = await listenAsControlPlane();
const CP = controlPlane.url;

// Route handlers authenticate API tokens, as scripts call the admin API (no next-auth outside Next).
vi.mock("@/lib/server/auth/current", () => import("./testing/api-token-auth"));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { userActor } = await import("./testing/data-access");
const { createToken } = await import("./tokens");
const stepUp = await import("./step-up");
type RouteModule = import("./testing/route-router").RouteModule;
type Actor = import("./auth/actor").Actor;
type Page<T> = import("@/lib/schemas/common").Page<T>;
type StepUpRequestView = import("@/lib/schemas/step-up").StepUpRequestView;
type ElevatedGrantView = import("@/lib/schemas/step-up").ElevatedGrantView;

const routes: Array<[RegExp, RouteModule]> = [
  [/^\/api\/v1\/step-up-requests$/, await import("@/app/api/v1/step-up-requests/route")],
  [/^\/api\/v1\/elevated-grants$/, await import("@/app/api/v1/elevated-grants/route")],
];

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
let t: TestDb;
let viewer: Actor & { type: "user" };
let manager: Actor & { type: "user" };
let otherManager: Actor & { type: "user" };
const tokens = {} as Record<"viewer" | "manager", string>;
const ids = {} as Record<"viewerApproved" | "viewerPending" | "managerPending", string>;

beforeAll(async () => {
  t = await createProcessTestDatabase();
  const finops = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  viewer = (await userActor(t.db, "viewer")) as typeof viewer;
  manager = (await userActor(t.db, "approver")) as typeof manager;
  otherManager = (await userActor(t.db, "approver")) as typeof otherManager;
  await t.db.portalRole.create({
    data: {
      slug: "analyst",
      name: "Analyst",
      stepUpRiskClasses: ["write", "destructive"],
      principals: { create: [{ kind: "user", value: viewer.email }, { kind: "user", value: manager.email }] },
      grants: { create: [{ portalId: finops.id, riskClasses: ["read"] }] },
    },
  });
  const requester = (who: Actor & { type: "user" }) => stepUp.userRequester(t.db, who.userId);
  const body = { portal: "finops", reason: "tag the Q4 accounts", durationMinutes: 30 };
  const approved = await stepUp.fileStepUpRequest(t.db, await requester(viewer), { ...body, riskClass: "write" });
  await stepUp.approveStepUpRequest(t.db, otherManager, approved.id, {});
  ids.viewerApproved = approved.id;
  ids.viewerPending = (await stepUp.fileStepUpRequest(t.db, await requester(viewer), { ...body, riskClass: "destructive" })).id;
  ids.managerPending = (await stepUp.fileStepUpRequest(t.db, await requester(manager), { ...body, riskClass: "write" })).id;
  tokens.viewer = (await createToken(t.db, viewer, { name: "mine test", scopes: ["read"], expiresInDays: 1 })).token;
  tokens.manager = (await createToken(t.db, manager, { name: "mine test", scopes: ["read"], expiresInDays: 1 })).token;
  await controlPlane.serve({ routes });
}, 60_000);

afterAll(async () => {
  await controlPlane.close();
  await t?.close();
});

const get = (who: keyof typeof tokens, pathname: string) => fetch(`${CP}/api/v1${pathname}`, { headers: { authorization: `Bearer ${tokens[who]}` } });

async function items<T>(who: keyof typeof tokens, pathname: string): Promise<T[]> {
  const res = await get(who, pathname);
  const text = await res.text();
  expect(res.status, text).toBe(200);
  return (JSON.parse(text) as Page<T>).items;
}

describe("GET /step-up-requests?mine=1", () => {
  it("gives a manager their own requests only, not the queue they decide", async () => {
    const queue = await items<StepUpRequestView>("manager", "/step-up-requests?status=pending");
    expect(queue.map((r) => r.id).sort()).toEqual([ids.viewerPending, ids.managerPending].sort());
    const mine = await items<StepUpRequestView>("manager", "/step-up-requests?mine=1");
    expect(mine.map((r) => r.id)).toEqual([ids.managerPending]);
    // The approver's extras (the requester's recent calls) belong to the queue, not to one's own list.
    expect(mine[0]).not.toHaveProperty("recentActivity");
  });

  it("gives a viewer their own, newest first, with the decision", async () => {
    const mine = await items<StepUpRequestView>("viewer", "/step-up-requests?mine=1");
    expect(mine.map((r) => r.id)).toEqual([ids.viewerPending, ids.viewerApproved]);
    expect(mine[1]).toMatchObject({ status: "approved", decidedBy: otherManager.email, grantId: expect.any(String) });
  });

  it("refuses a garbled flag (422), not reading it as either", async () => {
    expect((await get("viewer", "/step-up-requests?mine=yes")).status).toBe(422);
  });
});

describe("GET /elevated-grants?mine=1", () => {
  it("lets a viewer list their own active grant, with its end, and still not everyone's", async () => {
    const mine = await items<ElevatedGrantView>("viewer", "/elevated-grants?mine=1&status=active");
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ requestId: ids.viewerApproved, principal: { id: viewer.userId }, riskClass: "write", status: "active", approvedBy: otherManager.email });
    expect(Date.parse(mine[0]!.endsAt) - Date.now()).toBeGreaterThan(25 * 60_000);
    expect((await get("viewer", "/elevated-grants?status=active")).status).toBe(403);
  });

  it("shows a manager none of someone else's grants under mine", async () => {
    expect(await items<ElevatedGrantView>("manager", "/elevated-grants?mine=1")).toEqual([]);
    expect(await items<ElevatedGrantView>("manager", "/elevated-grants?status=active")).toHaveLength(1);
  });
});

describe("listStepUpOptions", () => {
  it("offers what the person's roles list under step-up, and nothing to someone no role names", async () => {
    expect(await stepUp.listStepUpOptions(t.db, await stepUp.userRequester(t.db, viewer.userId))).toEqual([
      { portal: { slug: "finops", name: "FinOps" }, riskClass: "destructive", roleName: "Analyst", isPerCall: false },
      { portal: { slug: "finops", name: "FinOps" }, riskClass: "write", roleName: "Analyst", isPerCall: false },
    ]);
    expect(await stepUp.listStepUpOptions(t.db, await stepUp.userRequester(t.db, otherManager.userId))).toEqual([]);
  });
});
