import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

import { mulberry32, pick } from "@/lib/prng";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

// The dashboard's session auth (next-auth) does not load outside Next. The fuzz is about bodies,
// not sign-in: every call comes from the admin created below (authorization still runs in the
// data-access functions, as for a real admin).
const who = vi.hoisted(() => ({ actor: null as unknown }));
vi.mock("@/lib/server/auth/current", () => ({ requireActor: () => who.actor }));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { systemActor } = await import("./auth/actor");
const { operations } = await import("@/lib/api/operations");
const { NextRequest } = await import("next/server");
const portals = await import("./portals");
const roles = await import("./roles");
const serviceAccounts = await import("./service-accounts");
const stepUp = await import("./step-up");
const { ensureBuiltInAlertRules } = await import("./alerts/start");

type RouteModule = Record<string, (req: InstanceType<typeof NextRequest>, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>>;
const routeModules = import.meta.glob<RouteModule>("/app/api/v1/**/route.ts");

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
let t: TestDb;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
const ids: Record<string, string> = {};

const SEED = Number(process.env.FUZZ_SEED ?? 20261207);
const BODIES = Number(process.env.FUZZ_BODIES ?? 10_000);

/**
 * A body each write operation accepts, so that a mutation of it reaches deep into the handler.
 * Fixed slugs and emails: after the first create, a body that gets through is a 409, so the
 * published config does not grow with the run (each publish would cost more than the last).
 */
const validBodies: Record<string, () => unknown> = {
  "post /servers": () => ({ slug: "fuzzed", name: "Costs", url: "http://127.0.0.1:9/mcp", credential: { kind: "header", headerName: "x-key", value: "k" } }),
  "patch /servers/{id}": () => ({ name: "Costs", description: "d", credential: { kind: "reference", headerName: "x-key", ref: "env:COSTS_KEY" } }),
  "patch /tools/{id}": () => ({ riskClass: "write" }),
  "post /portals": () => ({ slug: "fuzzed", name: "P", description: "", serverIds: [ids.server] }),
  "patch /portals/{id}": () => ({ name: "FinOps", description: "d", allowlistMode: false }),
  "put /portals/{id}/servers": () => ({ servers: [{ serverId: ids.server, enabled: true }] }),
  "patch /portals/{id}/tools/{toolId}": () => ({ enabled: true, alias: "top", descriptionOverride: "x" }),
  "patch /portals/{id}/catalog": () => ({ serverId: ids.server, kind: "prompt", key: "summary", enabled: true, alias: "costs_summary", descriptionOverride: "x" }),
  "post /roles": () => ({
    slug: "fuzzed",
    name: "R",
    principals: [{ kind: "group", value: "finops" }],
    grants: [{ portalId: ids.portal, serverSlug: "costs", toolName: "top", riskClasses: ["read"] }],
    conditions: { timeWindows: [{ timeZone: "UTC", days: [1, 2], start: "08:00", end: "18:00" }], networks: ["10.0.0.0/8"], mfaRequired: false, maxLookbackDays: 30 },
  }),
  "patch /roles/{id}": () => ({ name: "Analyst", principals: [{ kind: "user", value: "target@fuzz.test" }] }),
  "post /service-accounts": () => ({ name: "Nightly", portalRoleId: ids.role, expiresInDays: 30 }),
  "patch /service-accounts/{id}": () => ({ name: "Nightly", portalRoleId: ids.role, disabled: false }),
  "post /service-accounts/{id}/rotate": () => ({ graceHours: 1, expiresInDays: 30 }),
  "post /users": () => ({ email: "fuzzed@example.com", name: "U", role: "viewer", password: "correct horse battery staple" }),
  "patch /users/{id}": () => ({ name: "U", role: "viewer", disabled: false }),
  "post /tokens": () => ({ name: "ci", scopes: ["read"], expiresInDays: 30 }),
  "post /oauth-clients": () => ({ name: "Tool", redirectUris: ["https://tool.example/cb"], clientUri: "https://tool.example" }),
  "patch /settings": () => ({ oauthAccessTokenMinutes: 10, oauthCimdDomains: ["claude.ai"] }),
  "post /alert-channels": () => ({ kind: "webhook", name: "Ops hook", url: "https://93.184.216.34/portico", secret: "0123456789abcdef-secret", minSeverity: "high" }),
  "patch /alert-channels/{id}": () => ({ name: "Ops hook", enabled: true, minSeverity: "medium" }),
  "post /alert-rules": () => ({ detector: "lookback", name: "Look-back over 90 days", severity: "medium", params: { days: 90 }, scope: { portal: "finops", role: "analyst" }, throttleMinutes: 30 }),
  "patch /alert-rules/{id}": () => ({ enabled: true, severity: "high", params: { threshold: 5, windowMinutes: 10, by: "account" }, throttleMinutes: 15 }),
  // One open alert each: a resolved one cannot be snoozed (409).
  "post /alerts/{id}/acknowledge": () => ((ids["alerts:id"] = ids.alertToAcknowledge!), { note: "looking into it" }),
  "post /alerts/{id}/resolve": () => ((ids["alerts:id"] = ids.alertToResolve!), { note: "done" }),
  "post /alerts/{id}/snooze": () => ((ids["alerts:id"] = ids.alertToSnooze!), { minutes: 30 }),
  "post /step-up-requests": () => ({ portal: "finops", riskClass: "write", reason: "tag the Q4 resources", durationMinutes: 15 }),
  // Two pending requests of someone else's: one to approve, one to deny (a decided one answers 409).
  "post /step-up-requests/{id}/approve": () => ((ids["step-up-requests:id"] = ids.stepUpToApprove!), { durationMinutes: 15, note: "ok" }),
  "post /step-up-requests/{id}/deny": () => ((ids["step-up-requests:id"] = ids.stepUpToDeny!), { note: "use staging" }),
  // Called as a dry run (QUERIES): applied, it would replace the step-up role the approvals need.
  "post /config/import": () => ({
    kind: "portico/config",
    formatVersion: 1,
    servers: [{ slug: "costs", name: "Costs", url: "https://costs.example/mcp", allowSampling: false, allowElicitation: true }],
    portals: [{ slug: "finops", name: "FinOps", servers: [{ server: "costs", enabled: true }], dropServerPrefix: true, dlp: { actions: { card: "block" }, capture: "metadata" } }],
    roles: [
      {
        slug: "analyst",
        name: "Analyst",
        principals: [{ kind: "group", value: "finops" }],
        grants: [{ portal: "finops", server: "costs", riskClasses: ["read"] }],
        perCallRiskClasses: [],
        stepUpMaxMinutes: 30,
        stepUpApprovers: ["finops-leads"],
      },
    ],
    dlpPatterns: [{ id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" }],
  }),
  "post /policy/explain": () => ({ principal: { kind: "groups", groups: ["finops"] }, portal: "finops", tool: "costs_top", at: "2026-12-02T10:00:00Z", sourceIp: "10.1.2.3", mfa: true }),
  "post /policy/simulate": () => ({ against: { kind: "version", version: 1 }, days: 30 }),
  "put /settings/dlp": () => ({ patterns: [{ id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" }], portals: { finops: { actions: { card: "block" }, capture: "metadata" } } }),
  "post /settings/dlp/test": () => ({ text: "PRJ-1234 and 4111 1111 1111 1111" }),
  "post /log-destinations": () => ({ name: "SIEM", kind: "splunk_hec", url: "https://127.0.0.1:9/services/collector/event", secret: "hec-token-0123456789", startFrom: "beginning" }),
  "patch /log-destinations/{id}": () => ({ name: "SIEM (EU)", enabled: false, url: "https://127.0.0.1:9/in", secret: "another-hmac-key-0123" }),
};

const writeOperations = operations.filter((op) => op.method !== "get" && op.body);

// Deep nesting travels as a placeholder and is spliced into the JSON text: JSON.stringify (and
// structuredClone) would overflow the stack on the very values the handlers must survive.
const DEEP = /"\$deep:(\d+)"/g;
const toJson = (body: unknown) => JSON.stringify(body).replace(DEEP, (_, depth: string) => `${"[".repeat(Number(depth))}"\\u0000"${"]".repeat(Number(depth))}`);

function hostileValue(random: () => number): unknown {
  const deep = (depth: number) => `$deep:${depth}`;
  return pick(random, [
    () => "a\u0000b",
    () => "\u0000",
    () => "lone \ud800 high",
    () => "lone \udfff low",
    () => "😀".repeat(1 + Math.floor(random() * 50)),
    () => "x".repeat(Math.floor(random() * 200_000)),
    () => deep(Math.floor(random() * 10_000)),
    () => Array.from({ length: Math.floor(random() * 5_000) }, (_, i) => i),
    () => Array.from({ length: 50 }, () => "\u0000"),
    () => ({ ["k\u0000"]: "v", __proto__: { polluted: true } }),
    () => 1e308,
    () => -1,
    () => 0.5,
    () => Number.MAX_SAFE_INTEGER + 2,
    () => null,
    () => true,
    () => "",
    () => " ",
    () => "' OR 1=1; --",
    () => "https://\u0000.example",
    () => `env:${"A".repeat(200)}`,
    () => "file:/etc/\u0000passwd",
    () => "\u202e\ufeff\u200b",
  ])();
}

/** Puts an unstorable character into one random string (or key) of a body. */
function poison(body: unknown, random: () => number): unknown {
  const copy = structuredClone(body) as Record<string, unknown>;
  const slots: Array<{ node: Record<string, unknown>; key: string }> = [];
  const leaves: Array<{ node: Record<string, unknown>; key: string }> = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== "object") return;
    for (const [key, child] of Object.entries(node)) {
      if (typeof child === "string") slots.push({ node: node as Record<string, unknown>, key });
      else if (typeof child !== "object" || child === null) leaves.push({ node: node as Record<string, unknown>, key });
      walk(child);
    }
  };
  walk(copy);
  const bad = pick(random, ["\u0000", "\ud800", "\udfff", "a\u0000b"]);
  if (slots.length === 0 && leaves.length > 0) {
    const leaf = pick(random, leaves);
    leaf.node[leaf.key] = bad;
  } else if (slots.length === 0 || random() < 0.05) copy[`k${bad}`] = "v";
  else {
    const slot = pick(random, slots);
    const value = slot.node[slot.key] as string;
    const at = Math.floor(random() * (value.length + 1));
    slot.node[slot.key] = `${value.slice(0, at)}${bad}${value.slice(at)}`;
  }
  return copy;
}

/** A random path into a body (or a new key), replaced by a hostile value. */
function mutate(body: unknown, random: () => number): unknown {
  if (random() < 0.05) return hostileValue(random);
  const copy = structuredClone(body) as Record<string, unknown>;
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    let node: unknown = copy;
    for (let steps = 0; steps < 4 && node && typeof node === "object"; steps++) {
      const keys = Object.keys(node);
      if (keys.length === 0 || random() < 0.1) {
        (node as Record<string, unknown>)[random() < 0.5 ? "extra\u0000" : `k${Math.floor(random() * 5)}`] = hostileValue(random);
        break;
      }
      const key = keys[Math.floor(random() * keys.length)]!;
      const child = (node as Record<string, unknown>)[key];
      if (child && typeof child === "object" && random() < 0.6) {
        node = child;
        continue;
      }
      (node as Record<string, unknown>)[key] = hostileValue(random);
      break;
    }
  }
  return copy;
}

/** Query strings some operations are called with. */
const QUERIES: Record<string, string> = { "post /config/import": "?dryRun=true" };

async function call(op: (typeof operations)[number], body: string): Promise<Response> {
  const file = `/app/api/v1${op.path.replace(/\{(\w+)\}/g, "[$1]")}/route.ts`;
  const load = routeModules[file];
  if (!load) throw new Error(`no route module for ${op.path}`);
  const handler = (await load())[op.method.toUpperCase()];
  if (!handler) throw new Error(`${file} has no ${op.method.toUpperCase()}`);
  const params: Record<string, string> = {};
  for (const [, name] of op.path.matchAll(/\{(\w+)\}/g)) params[name!] = ids[`${op.path.split("/")[1]}:${name}`] ?? "";
  const url = `http://localhost/api/v1${op.path.replace(/\{(\w+)\}/g, (_, name: string) => params[name] ?? "")}${QUERIES[`${op.method} ${op.path}`] ?? ""}`;
  const req = new NextRequest(url, { method: op.method.toUpperCase(), headers: { "content-type": "application/json", authorization: "Bearer fuzz" }, body });
  return handler(req, { params: Promise.resolve(params) });
}

beforeAll(async () => {
  t = await createProcessTestDatabase();
  const admin = await t.db.user.create({ data: { email: "admin@fuzz.test", name: "Admin", role: "admin" } });
  who.actor = { type: "user", userId: admin.id, email: admin.email, name: admin.name, role: "admin", mfa: true };
  const target = await t.db.user.create({ data: { email: "target@fuzz.test", name: "Target", role: "viewer" } });
  const server = await t.db.server.create({ data: { slug: "costs", name: "Costs", url: "https://costs.example/mcp" } });
  const tool = await t.db.tool.create({ data: { serverId: server.id, name: "top", inputSchema: { type: "object" }, definitionHash: "h" } });
  const system = systemActor("fuzz");
  const portal = await portals.createPortal(t.db, system, { slug: "finops", name: "FinOps", serverIds: [server.id] });
  // A synced prompt, for the portal catalog's settings to name.
  await t.db.server.update({ where: { id: server.id }, data: { prompts: [{ name: "summary", description: "Sums up" }] } });
  const role = await roles.createRole(t.db, system, { slug: "analyst", name: "Analyst" });
  const account = await serviceAccounts.createServiceAccount(t.db, system, { name: "Nightly" });
  await t.db.portalRole.create({
    data: {
      slug: "step-up",
      name: "Step-up",
      stepUpRiskClasses: ["write", "destructive"],
      principals: { create: [{ kind: "user", value: admin.email }, { kind: "user", value: target.email }] },
      grants: { create: [{ portalId: portal.id, riskClasses: ["read"] }] },
    },
  });
  await ensureBuiltInAlertRules(t.db);
  const rule = await t.db.alertRule.findUniqueOrThrow({ where: { key: "failed-auth-account" } });
  const openAlert = (subject: string) => t.db.alert.create({ data: { ruleId: rule.id, subject, severity: "high", title: "Failed sign-ins", firstSeenAt: new Date(), lastSeenAt: new Date() } });
  const destination = await t.db.logDestination.create({ data: { name: "Existing SIEM", kind: "https", url: "https://127.0.0.1:9/in", secretEnc: "unused" } });
  const channel = await t.db.alertChannel.create({ data: { kind: "webhook", name: "Existing", config: { url: "https://hooks.example.com/x" } } });
  const requester = await stepUp.userRequester(t.db, target.id);
  const file = (riskClass: "write" | "destructive") => stepUp.fileStepUpRequest(t.db, requester, { portal: "finops", riskClass, reason: "fuzz", durationMinutes: 15 });
  Object.assign(ids, {
    server: server.id,
    portal: portal.id,
    role: role.id,
    "servers:id": server.id,
    "tools:id": tool.id,
    "portals:id": portal.id,
    "portals:toolId": tool.id,
    "roles:id": role.id,
    "service-accounts:id": account.id,
    "users:id": target.id,
    "alert-channels:id": channel.id,
    "log-destinations:id": destination.id,
    "alert-rules:id": rule.id,
    alertToAcknowledge: (await openAlert("account:a@fuzz.test")).id,
    alertToResolve: (await openAlert("account:b@fuzz.test")).id,
    alertToSnooze: (await openAlert("account:c@fuzz.test")).id,
    stepUpToApprove: (await file("write")).id,
    stepUpToDeny: (await file("destructive")).id,
  });
});

afterAll(async () => {
  await t?.close();
});

describe(`every /api/v1 write under fuzzed bodies (${label})`, () => {
  it("has a valid body for every write operation with a body, and each is accepted", async () => {
    expect(writeOperations.map((op) => `${op.method} ${op.path}`).sort()).toEqual(Object.keys(validBodies).sort());
    for (const op of writeOperations) {
      const response = await call(op, JSON.stringify(validBodies[`${op.method} ${op.path}`]!()));
      expect(response.status, `${op.method} ${op.path}: ${await response.clone().text()}`).toBeLessThan(300);
    }
  });

  it("answers a NUL in a portal's name with 422 naming the field", async () => {
    const op = writeOperations.find((o) => o.method === "patch" && o.path === "/portals/{id}")!;
    const response = await call(op, JSON.stringify({ name: "Fin\u0000Ops" }));
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { errors: Array<{ field: string; message: string }> };
    expect(problem.errors).toEqual([{ field: "name", message: expect.stringContaining("cannot be stored") }]);
    expect((await t.db.portal.findUniqueOrThrow({ where: { id: ids.portal } })).name).not.toContain("\u0000");
  });

  it(`answers ${BODIES} fuzzed bodies (seed ${SEED}) with no 5xx`, async () => {
    const random = mulberry32(SEED);
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    const started = performance.now();
    for (let i = 0; i < BODIES; i++) {
      const op = writeOperations[Math.floor(random() * writeOperations.length)]!;
      // Most bodies carry the characters the database refuses somewhere a valid body has text; the
      // rest are shaken at random (types, sizes, depth, extra keys).
      const valid = validBodies[`${op.method} ${op.path}`]!();
      const body = random() < 0.9 ? poison(valid, random) : mutate(valid, random);
      const text = random() < 0.01 ? `${toJson(body)}}` : toJson(body);
      const response = await call(op, text);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      if (response.status >= 500 && failures.length < 10) failures.push(`#${i} ${op.method} ${op.path} ${text.slice(0, 200)} → ${response.status} ${await response.text()}`);
    }
    const seconds = (performance.now() - started) / 1000;
    console.log(`api fuzz (${label}): ${BODIES} bodies in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(failures).toEqual([]);
    // The fuzz reaches the database too, not only the schemas.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
  }, 600_000);
});
