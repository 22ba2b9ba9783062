import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf, userActor } from "./testing/data-access";

process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");

const { createTestDatabase } = await import("./db/test-database");
const servers = await import("./servers");
const portals = await import("./portals");
const roles = await import("./roles");
const { publishConfig } = await import("./config-publisher");
const { appendAuditEvents } = await import("./audit");
const explainer = await import("./policy-explainer");
const { toolDefinitionHash } = await import("@/lib/config/tool-definition");
import type { Actor } from "./auth/actor";

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
let admin: Actor;
let auditor: Actor;
let viewer: Actor;
let analystId = "";
let portalId = "";
let roleId = "";
const weekdays = { days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: "Europe/Paris" };
// Saturday 2026-12-05 and Wednesday 2026-12-02, 11:00 in Paris.
const SATURDAY = "2026-12-05T10:00:00Z";
const WEDNESDAY = "2026-12-02T10:00:00Z";

async function addTool(serverId: string, name: string, riskClass: "read" | "write") {
  const definition = { name, description: name, inputSchema: { type: "object" } };
  await t.db.tool.create({ data: { serverId, ...definition, riskClass, definitionHash: toolDefinitionHash(definition) } });
}

beforeAll(async () => {
  t = await createTestDatabase();
  admin = await userActor(t.db, "admin");
  auditor = await userActor(t.db, "auditor");
  viewer = await userActor(t.db, "viewer");
  const analyst = await t.db.user.create({ data: { email: "ana@corp.example", name: "Ana", role: "viewer", idpGroups: ["finops-analysts"] } });
  analystId = analyst.id;
  const server = await servers.createServer(t.db, admin, { slug: "tagging", name: "Tagging", url: "http://127.0.0.1:9/mcp" });
  await addTool(server.id, "list_untagged", "read");
  await addTool(server.id, "tag_resource", "write");
  const portal = await portals.createPortal(t.db, admin, { slug: "finops", name: "FinOps", serverIds: [server.id] });
  portalId = portal.id;
  const role = await roles.createRole(t.db, admin, {
    slug: "weekday-taggers",
    name: "Weekday taggers",
    principals: [{ kind: "group", value: "finops-analysts" }],
    grants: [{ portalId, serverSlug: "tagging", riskClasses: ["read", "write"] }],
    conditions: { timeWindows: [weekdays], networks: ["10.0.0.0/8"] },
  });
  roleId = role.id;
  await publishConfig(t.db, "setup");
  // Ana tagged resources on a recent Wednesday in office hours, from the office network, and listed them.
  const wednesday = new Date(Date.now() - 86_400_000);
  while (wednesday.getUTCDay() !== 3) wednesday.setUTCDate(wednesday.getUTCDate() - 1);
  wednesday.setUTCHours(10, 0, 0, 0);
  const call = (tool: string) => ({
    id: randomUUID(),
    time: wednesday,
    kind: "mcp.request",
    actorType: "user" as const,
    actorId: analystId,
    actorLabel: "ana@corp.example",
    action: "tools/call",
    outcome: "allow" as const,
    portal: "finops",
    server: "tagging",
    tool,
    sourceIp: "10.1.2.3",
  });
  await t.db.$transaction((tx) => appendAuditEvents(tx, [call("tag_resource"), call("tag_resource"), call("list_untagged")]));
});
afterAll(async () => {
  await t?.close();
});

describe(`policy explainer (${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  it("explains a Saturday denial by the failing time window, and lists what tools/list would show", async () => {
    const result = await explainer.explainPolicy(t.db, auditor, { principal: { kind: "user", email: "ana@corp.example" }, portal: "finops", tool: "tagging_tag_resource", at: SATURDAY, sourceIp: "10.1.2.3", mfa: true });
    expect(result.decision).toMatchObject({ effect: "deny", rule: "role conditions" });
    expect(result.roles).toEqual([
      expect.objectContaining({
        slug: "weekday-taggers",
        isMember: true,
        grantsTool: true,
        conditions: [
          { condition: "time window", held: false, words: "outside its hours (Mon, Tue, Wed, Thu, Fri 08:00–19:00 Europe/Paris)" },
          { condition: "network", held: true, words: "10.1.2.3 is in its networks (10.0.0.0/8)" },
        ],
      }),
    ]);
    expect(result.visibleTools).toEqual([]);

    const weekday = await explainer.explainPolicy(t.db, auditor, { principal: { kind: "groups", groups: ["finops-analysts"] }, portal: "finops", tool: "tagging_tag_resource", at: WEDNESDAY, sourceIp: "10.1.2.3" });
    expect(weekday.decision.effect).toBe("allow");
    expect(weekday.visibleTools.map((v) => v.exposedName)).toEqual(["tagging_list_untagged", "tagging_tag_resource"]);
  });

  it("validates its input and is for admins and auditors", async () => {
    expect(await errorOf(explainer.explainPolicy(t.db, viewer, {}))).toMatchObject({ code: "forbidden" });
    expect(await errorOf(explainer.explainPolicy(t.db, admin, { principal: { kind: "groups", groups: ["x"] }, portal: "finops", tool: "nope" }))).toMatchObject({ code: "validation_failed" });
    expect(await errorOf(explainer.explainPolicy(t.db, admin, { principal: { kind: "groups", groups: ["x"] }, portal: "finops", tool: "tagging_tag_resource", sourceIp: "not-an-ip" }))).toMatchObject({ code: "validation_failed" });
  });

  it("what-if: a draft that drops the write grant shows Ana losing the tool she used, not the one she keeps", async () => {
    const role = await roles.getRole(t.db, admin, roleId);
    const draft = { ...role, grants: [{ portalId, serverSlug: "tagging", toolName: null, riskClasses: ["read" as const] }] };
    const result = await explainer.simulatePolicy(t.db, admin, {
      against: { kind: "draft_role", roleId, role: { slug: draft.slug, name: draft.name, principals: draft.principals, grants: draft.grants, stepUpRiskClasses: draft.stepUpRiskClasses, conditions: draft.conditions } },
    });
    expect(result.replayed).toBe(2);
    expect(result.changes).toEqual([
      expect.objectContaining({ principal: "ana@corp.example", portal: "finops", tool: "tagging_tag_resource", calls: 2, change: "loses", after: "deny" }),
    ]);
    // Nothing was saved.
    expect((await roles.getRole(t.db, admin, roleId)).grants[0]!.riskClasses).toEqual(["read", "write"]);
  });

  it("what-if against an older version", async () => {
    await roles.deleteRole(t.db, admin, roleId);
    await publishConfig(t.db, "role deleted");
    const result = await explainer.simulatePolicy(t.db, auditor, { against: { kind: "version", version: 1 } });
    expect(result.changes.map((c) => [c.tool, c.change])).toEqual([
      ["tagging_list_untagged", "gains"],
      ["tagging_tag_resource", "gains"],
    ]);
  });
});
