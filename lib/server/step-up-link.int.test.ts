import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
process.env.AUTH_SECRET = randomBytes(32).toString("base64url");

const { createTestDatabase } = await import("./db/test-database");
const { stepUpLinkState } = await import("./step-up-link");
const stepUp = await import("./step-up");
const { parseStepUpLink } = await import("@/lib/schemas/step-up-link");
const { mfaFreshness, freshMfaCookie, oauthErrorDescription } = await import("./oauth/step-up");
const { mfaProvenAt } = await import("./auth/mfa-time");

/**
 * The request page behind a gateway's tool-error link: what it shows a signed-in person, from a
 * real database (their roles, their pending request), and what it says about a broken link.
 */

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let aliceId: string;
let olgaId: string;
const NOW = new Date("2026-12-07T09:00:00Z");

beforeAll(async () => {
  t = await createTestDatabase();
  const portal = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  aliceId = (await t.db.user.create({ data: { email: "alice@t.local", name: "alice", role: "viewer", idpGroups: ["analysts"] } })).id;
  olgaId = (await t.db.user.create({ data: { email: "olga@t.local", name: "olga", role: "viewer" } })).id;
  await t.db.portalRole.create({
    data: {
      slug: "analyst",
      name: "Analyst",
      stepUpRiskClasses: ["write", "financial"],
      perCallRiskClasses: ["financial"],
      stepUpMaxMinutes: 30,
      principals: { create: [{ kind: "group", value: "analysts" }] },
      grants: { create: [{ portalId: portal.id, serverSlug: "tagging", riskClasses: ["read"] }] },
    },
  });
});

afterAll(async () => {
  await t?.close();
});

describe("the link's query", () => {
  it("reads the gateway's link", () => {
    expect(parseStepUpLink({ portal: "finops", risk: "write", server: "tagging", tool: "tag_resource" })).toEqual({
      ok: true,
      link: { portal: "finops", risk: "write", server: "tagging", tool: "tag_resource" },
    });
  });

  it("says what is missing or wrong", () => {
    const result = parseStepUpLink({ risk: "root", tool: ["a", "b"] });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.problems).toEqual(["The link does not name the portal (“portal”).", "The risk class in the link (“risk”) is not valid."]);
    expect(parseStepUpLink({ portal: "finops", risk: "financial", args: "[1,2]" })).toEqual({ ok: false, problems: ["The call's arguments in the link (“args”) are not valid."] });
    expect(parseStepUpLink({ portal: "finops", risk: "financial", args: "{nope" })).toMatchObject({ ok: false });
    expect(parseStepUpLink({})).toMatchObject({ ok: false, problems: expect.arrayContaining([expect.stringContaining("portal"), expect.stringContaining("risk")]) });
  });
});

describe("what the page shows", () => {
  const link = { portal: "finops", risk: "write", server: "tagging", tool: "tag_resource" } as const;

  it("offers the form with the role's durations", async () => {
    expect(await stepUpLinkState(t.db, aliceId, link, NOW)).toEqual({ kind: "form", portal: { slug: "finops", name: "FinOps" }, roleName: "Analyst", durations: [15, 30], perCall: null, request: null, activeUntil: null });
  });

  it("offers a per-call class for exactly the call the link carries, arguments included", async () => {
    const parsed = parseStepUpLink({ portal: "finops", risk: "financial", server: "budgets", tool: "set_budget", args: '{"budget_id":"b-1","amount":2500}' });
    expect(parsed.ok).toBe(true);
    expect(await stepUpLinkState(t.db, aliceId, parsed.ok ? parsed.link : link, NOW)).toMatchObject({
      kind: "form",
      perCall: { server: "budgets", tool: "set_budget", arguments: { budget_id: "b-1", amount: 2500 } },
    });
  });

  it("refuses a portal that does not exist, a risk class no role lists, a person without a role, and per-call classes", async () => {
    expect(await stepUpLinkState(t.db, aliceId, { ...link, portal: "nope" }, NOW)).toMatchObject({ kind: "refused", title: "Unknown portal" });
    expect(await stepUpLinkState(t.db, aliceId, { ...link, risk: "destructive" }, NOW)).toMatchObject({ kind: "refused", message: expect.stringContaining("elevated destructive access") });
    expect(await stepUpLinkState(t.db, olgaId, link, NOW)).toMatchObject({ kind: "refused", title: "Elevated access is not available" });
    // A per-call class whose link carries no arguments (they were too long for one).
    expect(await stepUpLinkState(t.db, aliceId, { ...link, risk: "financial" }, NOW)).toMatchObject({ kind: "refused", title: "Approved one call at a time", message: expect.stringContaining("POST /api/v1/step-up-requests") });
    expect(await t.db.stepUpRequest.count()).toBe(0);
  });

  it("waits for the request already pending instead of offering a second one, until it expires", async () => {
    const filed = await stepUp.fileStepUpRequest(t.db, await stepUp.userRequester(t.db, aliceId), { portal: "finops", riskClass: "write", reason: "tag the Q4 accounts", durationMinutes: 15 }, NOW);
    expect(await stepUpLinkState(t.db, aliceId, link, NOW)).toMatchObject({ kind: "form", request: { id: filed.id, status: "pending" } });
    expect(await stepUpLinkState(t.db, aliceId, link, new Date(NOW.getTime() + 31 * 60_000))).toMatchObject({ kind: "form", request: null });
  });

  it("says when an approved window already covers the risk class, until it ends", async () => {
    const bob = await t.db.user.create({ data: { email: "bob@t.local", name: "bob", role: "approver" } });
    const approver = { type: "user" as const, userId: bob.id, email: bob.email, name: "bob", role: "approver" as const, mfa: true };
    const later = new Date(NOW.getTime() + 40 * 60_000);
    const filed = await stepUp.fileStepUpRequest(t.db, await stepUp.userRequester(t.db, aliceId), { portal: "finops", riskClass: "write", reason: "tag the Q1 accounts", durationMinutes: 15 }, later);
    await stepUp.approveStepUpRequest(t.db, approver, filed.id, {}, later);
    const ends = new Date(later.getTime() + 15 * 60_000);
    expect(await stepUpLinkState(t.db, aliceId, link, later)).toMatchObject({ request: null, activeUntil: ends.toISOString() });
    expect(await stepUpLinkState(t.db, aliceId, link, new Date(ends.getTime() + 1000))).toMatchObject({ activeUntil: null });
  });

  it("after a reload shows the request the page's URL names as it is now (denied, with the note), and only the person's own", async () => {
    const bob = await t.db.user.findUniqueOrThrow({ where: { email: "bob@t.local" } });
    const approver = { type: "user" as const, userId: bob.id, email: bob.email, name: "bob", role: "approver" as const, mfa: true };
    const at = new Date(NOW.getTime() + 3 * 3_600_000);
    const filed = await stepUp.fileStepUpRequest(t.db, await stepUp.userRequester(t.db, aliceId), { portal: "finops", riskClass: "write", reason: "tag the Q2 accounts", durationMinutes: 15 }, at);
    await stepUp.denyStepUpRequest(t.db, approver, filed.id, { note: "Use the staging account" }, at);
    const parsed = parseStepUpLink({ portal: "finops", risk: "write", request: filed.id });
    expect(parsed.ok && parsed.link.request).toBe(filed.id);
    const named = parsed.ok ? parsed.link : link;
    expect(await stepUpLinkState(t.db, aliceId, named, at)).toMatchObject({ kind: "form", request: { id: filed.id, status: "denied", decisionNote: "Use the staging account", decidedBy: "bob@t.local" } });
    // Without the id, the same link offers the form again: asking anew.
    expect(await stepUpLinkState(t.db, aliceId, link, at)).toMatchObject({ kind: "form", request: null });
    // Someone else's request, or this one under another risk class's link, shows nothing.
    const carl = await t.db.user.create({ data: { email: "carl@t.local", name: "carl", role: "viewer", idpGroups: ["analysts"] } });
    expect(await stepUpLinkState(t.db, carl.id, named, at)).toMatchObject({ kind: "form", request: null });
    // A garbled id is dropped, not reported: the link still works.
    expect(parseStepUpLink({ portal: "finops", risk: "write", request: "../x" })).toMatchObject({ ok: true, link: { request: undefined } });
  });
});

describe("a second factor older than the window, on the request page and its API", () => {
  const minutesAgo = (m: number) => NOW.getTime() - m * 60_000;

  it("asks a TOTP user for a code again once the session's factor is older than 10 minutes, until a fresh code is entered", async () => {
    const totp = await t.db.user.create({ data: { email: "tess@t.local", name: "tess", role: "viewer", totpEnabled: true, totpSecretEnc: "x" } });
    expect(await mfaFreshness(t.db, totp.id, { sessionMfaAt: minutesAgo(5), cookie: undefined }, NOW.getTime())).toEqual({ kind: "fresh" });
    expect(await mfaFreshness(t.db, totp.id, { sessionMfaAt: minutesAgo(11), cookie: undefined }, NOW.getTime())).toEqual({ kind: "stale", hasTotp: true });
    // A code entered on the page (the signed cookie) counts from when it was entered, for this person only.
    expect(await mfaFreshness(t.db, totp.id, { sessionMfaAt: minutesAgo(11), cookie: freshMfaCookie(totp.id, minutesAgo(1)) }, NOW.getTime())).toEqual({ kind: "fresh" });
    expect(await mfaFreshness(t.db, totp.id, { sessionMfaAt: minutesAgo(11), cookie: freshMfaCookie(aliceId, minutesAgo(1)) }, NOW.getTime())).toEqual({ kind: "stale", hasTotp: true });
  });

  it("tells an SSO user whose IdP sign-in is old to sign in again, and asks nothing of someone with no second factor", async () => {
    expect(await mfaFreshness(t.db, aliceId, { sessionMfaAt: minutesAgo(30), cookie: undefined }, NOW.getTime())).toEqual({ kind: "stale", hasTotp: false });
    expect(await mfaFreshness(t.db, olgaId, { sessionMfaAt: null, cookie: undefined }, NOW.getTime())).toEqual({ kind: "none" });
  });
});

describe("an SSO sign-in's proof of the second factor", () => {
  it("counts from the IdP's auth_time, so an IdP that did not ask again cannot make an old factor fresh", () => {
    const now = NOW.getTime();
    expect(mfaProvenAt(now / 1000 - 2, now)).toBe(now - 2000);
    expect(mfaProvenAt(now / 1000 - 3600, now)).toBe(now - 3_600_000);
    // No auth_time, no proof of when: old, so step-up sends the person back to the IdP.
    expect(mfaProvenAt(null, now)).toBe(0);
    expect(mfaProvenAt(undefined, now)).toBe(0);
    // A clock ahead at the IdP does not lend freshness beyond now.
    expect(mfaProvenAt(now / 1000 + 600, now)).toBe(now);
  });
});

describe("a denial's note in the client's error_description", () => {
  it("keeps to the characters RFC 6749 allows, so the client can show the note it was sent", () => {
    expect(oauthErrorDescription("a manager denied the step-up request: Use the staging account")).toBe("a manager denied the step-up request: Use the staging account");
    expect(oauthErrorDescription('Ask Zoë in "Finance"\nfirst \\ then retry 🙂')).toBe("Ask Zoe in 'Finance' first / then retry ?");
    expect(oauthErrorDescription("x".repeat(1000))).toHaveLength(300);
  });
});
