import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listenAsControlPlane } from "../testing/control-plane";

// The token endpoint over real HTTP, as server.ts serves it, with a throttle on a clock the test
// moves: 3 failures per client id (20 per address) in a minute lock it out for 10 s, then 20 s.
const GW = "http://127.0.0.1:4998";
const controlPlane = await listenAsControlPlane({ gatewayUrl: GW });
const CP = controlPlane.url;

const { createTestDatabase } = await import("../db/test-database");
const { systemActor } = await import("../auth/actor");
const { createServiceAccount } = await import("../service-accounts");
const { createOAuthProvider } = await import(".");
const { createTokenThrottle } = await import("./token-throttle");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const PORTAL = `${GW}/mcp/finops`;
let nightly: { id: string; clientId: string; clientSecret: string };
let backup: { id: string; clientId: string; clientSecret: string };
let clock = Date.now();
let throttleOptions: Parameters<typeof createTokenThrottle>[0];
let since: Date;

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString("base64")}`;

async function post(path: string, form: Record<string, string>, auth: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${CP}/oauth${path}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", authorization: auth, "x-request-id": `throttle-${Math.random().toString(36).slice(2)}`, ...headers },
    body: new URLSearchParams(form),
  });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), body: (await res.json()) as Record<string, unknown> };
}

const tokenFor = (account: { clientId: string }, secret: string) => post("/token", { grant_type: "client_credentials", resource: PORTAL }, basic(account.clientId, secret));

beforeAll(async () => {
  t = await createTestDatabase();
  const finops = await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
  const role = await t.db.portalRole.create({ data: { slug: "analyst", name: "Analyst", grants: { create: [{ portalId: finops.id }] } } });
  nightly = await createServiceAccount(t.db, systemActor("test"), { name: "nightly report", portalRoleId: role.id });
  backup = await createServiceAccount(t.db, systemActor("test"), { name: "backup report", portalRoleId: role.id });
});

// A fresh throttle (and provider) per test: what one test locks out does not leak into the next.
beforeEach(async () => {
  clock = Date.now();
  since = new Date();
  throttleOptions = {
    clients: { maxFailures: 3, windowMs: 60_000, lockMs: 10_000, maxLockMs: 20_000, now: () => clock },
    addresses: { maxFailures: 20, windowMs: 60_000, lockMs: 10_000, maxLockMs: 20_000, now: () => clock },
  };
  await controlPlane.serve({ provider: await createOAuthProvider(t.db, { throttle: createTokenThrottle(throttleOptions) }) });
});

afterAll(async () => {
  await controlPlane.close();
  await t?.close();
});

const events = (where: Record<string, unknown>) =>
  t.db.auditEvent.findMany({ where: { kind: "auth.token", time: { gte: since }, ...where }, orderBy: { seq: "asc" } });

describe("the token endpoint throttles failed client authentication", () => {
  it("answers 429 with Retry-After after 3 wrong secrets, refuses the right one alike, and recovers when the lockout ends", async () => {
    for (let i = 0; i < 3; i++) expect(await tokenFor(nightly, `sas_guess_${i}`)).toMatchObject({ status: 401, body: { error: "invalid_client" } });

    const right = await tokenFor(nightly, nightly.clientSecret);
    const wrong = await tokenFor(nightly, "sas_guess_3");
    expect(right).toMatchObject({ status: 429, retryAfter: "10", body: { error: "too_many_requests" } });
    expect(right.body.access_token).toBeUndefined();
    // Not an oracle: the right secret and a wrong one get the very same answer while locked out.
    expect(wrong).toEqual(right);
    // The revocation endpoint authenticates clients too, and is locked alike.
    expect(await post("/token/revocation", { token: "x" }, basic(nightly.clientId, nightly.clientSecret))).toMatchObject({ status: 429, retryAfter: "10" });
    // Another client from the same address is not locked out by this one's failures.
    expect((await tokenFor(backup, backup.clientSecret)).status).toBe(200);

    clock += 4_000;
    expect((await tokenFor(nightly, nightly.clientSecret)).retryAfter).toBe("6");
    clock += 6_000;
    const after = await tokenFor(nightly, nightly.clientSecret);
    expect(after.status).toBe(200);
    expect(typeof after.body.access_token).toBe("string");

    // The failures are audited with client id, source address and reason; the lockout once; the
    // refused requests never reached the provider, so no token request of theirs is recorded.
    const failures = await events({ actorId: nightly.clientId, outcome: "failure" });
    expect(failures.map((e) => e.action)).toEqual(["token.issue", "token.issue", "token.issue", "token.lockout"]);
    for (const e of failures) {
      expect(e.sourceIp).toMatch(/127\.0\.0\.1$/);
      expect(e.data).toMatchObject({ clientId: nightly.clientId, failure: e.action === "token.lockout" ? "locked_out" : "invalid_client" });
    }
    expect(failures.at(-1)).toMatchObject({ actorType: "service_account", reasons: ["too many failed client authentications from this client id: refused for 10 s"] });
    expect(failures.at(-1)!.data).toMatchObject({ scope: "client", lockSeconds: 10, lockouts: 1 });
    expect(await events({ actorId: nightly.clientId, outcome: "success" })).toHaveLength(1);
    expect(JSON.stringify(failures, (_k, v: unknown) => (typeof v === "bigint" ? String(v) : v))).not.toContain("sas_guess");
  });

  it("locks each further lockout out twice as long, up to the cap; a success starts over", async () => {
    const lockOut = async () => {
      for (let i = 0; i < 3; i++) await tokenFor(nightly, "sas_wrong");
      return (await tokenFor(nightly, nightly.clientSecret)).retryAfter;
    };
    expect(await lockOut()).toBe("10");
    clock += 10_000;
    expect(await lockOut()).toBe("20");
    clock += 20_000;
    expect(await lockOut()).toBe("20");
    clock += 20_000;

    expect((await tokenFor(nightly, nightly.clientSecret)).status).toBe(200);
    // The success forgot the failures: two more wrong secrets are two ordinary 401s, and the
    // lockout after a third is the first one's length again.
    for (let i = 0; i < 2; i++) expect((await tokenFor(nightly, "sas_wrong")).status).toBe(401);
    expect((await tokenFor(nightly, nightly.clientSecret)).status).toBe(200);
    expect(await lockOut()).toBe("10");
  });

  it("locks out an address that guesses across many client ids, whichever client it names", async () => {
    for (let i = 0; i < 20; i++) expect((await tokenFor({ clientId: `sa_guess${i}` }, "sas_wrong")).status).toBe(401);
    expect(await tokenFor(backup, backup.clientSecret)).toMatchObject({ status: 429, retryAfter: "10" });
    const lockout = await events({ action: "token.lockout" });
    expect(lockout).toHaveLength(1);
    expect(lockout[0]).toMatchObject({ actorType: "anonymous", actorId: null, reasons: ["too many failed client authentications from this address: refused for 10 s"] });
    expect(lockout[0]!.data).toMatchObject({ scope: "address", clientId: "sa_guess19" });
    clock += 10_000;
    expect((await tokenFor(backup, backup.clientSecret)).status).toBe(200);
  });

  it("behind a TLS proxy, counts the address the proxy appended, not the one a client claims", async () => {
    // An https issuer: the provider trusts X-Forwarded-For, as it does behind a terminating proxy.
    await controlPlane.serve({ provider: await createOAuthProvider(t.db, { issuer: "https://portico.example/oauth", throttle: createTokenThrottle(throttleOptions) }) });
    const via = (claimed: string, appended: string) => ({ "x-forwarded-for": `${claimed}, ${appended}`, "x-forwarded-proto": "https" });
    const guess = (i: number, headers: Record<string, string>) =>
      post("/token", { grant_type: "client_credentials", resource: PORTAL }, basic(`sa_spray${i}`, "sas_wrong"), headers);
    // A fresh made-up address each time in front of the same real one: still one address.
    for (let i = 0; i < 20; i++) expect((await guess(i, via(`203.0.113.${i}`, "198.51.100.7"))).status).toBe(401);
    expect(await guess(20, via("203.0.113.99", "198.51.100.7"))).toMatchObject({ status: 429, retryAfter: "10" });
    // Someone else behind the proxy is not locked out by a claim of the sprayer's address.
    expect((await post("/token", { grant_type: "client_credentials", resource: PORTAL }, basic(backup.clientId, backup.clientSecret), via("198.51.100.7", "192.0.2.4"))).status).toBe(200);
    const [lockout] = await events({ action: "token.lockout" });
    expect(lockout).toMatchObject({ sourceIp: "198.51.100.7" });
  });
});
