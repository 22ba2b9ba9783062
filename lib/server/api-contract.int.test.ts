import { randomBytes } from "node:crypto";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");

/**
 * What a script sees of the admin API's contract, through the real route handlers and a real
 * database, signed in with API tokens as scripts are: the scope a token lacks is named before its
 * body is read, a query the operation does not describe is refused by name, and the answers have
 * the shape and status the OpenAPI document publishes.
 */
vi.mock("@/lib/server/auth/current", () => import("./testing/api-token-auth"));

const { createProcessTestDatabase } = await import("./testing/process-database");
const { createToken } = await import("./tokens");
const { NextRequest } = await import("next/server");
const { GET: openApi } = await import("@/app/api/v1/openapi.json/route");

type Handler = (req: InstanceType<typeof NextRequest>, ctx: { params: Promise<Record<string, string>> }) => Promise<Response>;
type RouteModule = Partial<Record<"GET" | "POST" | "PATCH" | "PUT" | "DELETE", unknown>>;
const routes: Array<[string, RouteModule]> = [
  ["/servers", await import("@/app/api/v1/servers/route")],
  ["/servers/{id}", await import("@/app/api/v1/servers/[id]/route")],
  ["/tools", await import("@/app/api/v1/tools/route")],
  ["/tools/{id}", await import("@/app/api/v1/tools/[id]/route")],
  ["/portals", await import("@/app/api/v1/portals/route")],
  ["/roles", await import("@/app/api/v1/roles/route")],
  ["/roles/{id}", await import("@/app/api/v1/roles/[id]/route")],
  ["/tokens", await import("@/app/api/v1/tokens/route")],
  ["/tokens/{id}", await import("@/app/api/v1/tokens/[id]/route")],
  ["/users", await import("@/app/api/v1/users/route")],
  ["/users/{id}", await import("@/app/api/v1/users/[id]/route")],
  ["/service-accounts", await import("@/app/api/v1/service-accounts/route")],
  ["/audit-events", await import("@/app/api/v1/audit-events/route")],
];

type TestDb = Awaited<ReturnType<typeof createProcessTestDatabase>>;
let t: TestDb;
const label = process.env.TEST_DATABASE_URL ? "postgres" : "pglite";
let readToken: string;
let writeToken: string;
const ids = { costs: "", other: "", costsTool: "", otherTool: "" };

type Call = { token?: string; body?: unknown; rawBody?: string };

/** One request to the route handler Next.js would pick for `pathname` (under /api/v1). */
async function call(method: "GET" | "POST" | "PATCH" | "PUT" | "DELETE", pathname: string, { token = writeToken, body, rawBody }: Call = {}) {
  const url = new URL(`http://localhost/api/v1${pathname}`);
  for (const [pattern, mod] of routes) {
    const match = new RegExp(`^/api/v1${pattern.replace(/\{(\w+)\}/g, "(?<$1>[^/]+)")}$`).exec(url.pathname);
    const handler = mod[method] as Handler | undefined;
    if (!match || !handler) continue;
    const text = rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(text === undefined ? {} : { "content-type": "application/json" }) };
    return handler(new NextRequest(url, { method, headers, body: text }), { params: Promise.resolve({ ...match.groups }) });
  }
  throw new Error(`no route for ${method} ${pathname}`);
}

type Problem = { title: string; status: number; code: string; errors?: Array<{ field: string; message: string }> };
async function problemOf(res: Response): Promise<Problem> {
  expect(res.headers.get("content-type")).toContain("application/problem+json");
  return (await res.json()) as Problem;
}

const roleBody = (slug: string) => ({ slug, name: "Reviewer", principals: [{ kind: "group", value: "finops" }] });

beforeAll(async () => {
  t = await createProcessTestDatabase();
  const admin = await t.db.user.create({ data: { email: "admin@contract.test", name: "Admin", role: "admin" } });
  const actor = { type: "user" as const, userId: admin.id, email: admin.email, name: admin.name, role: "admin" as const, mfa: true };
  readToken = (await createToken(t.db, actor, { name: "read only", scopes: ["read"], expiresInDays: 1 })).token;
  writeToken = (await createToken(t.db, actor, { name: "read write", scopes: ["read", "write"], expiresInDays: 1 })).token;
  const costs = await t.db.server.create({ data: { slug: "reviewer-costs", name: "Reviewer costs", url: "https://costs.example/mcp" } });
  const other = await t.db.server.create({ data: { slug: "other", name: "Other", url: "https://other.example/mcp" } });
  const tool = (serverId: string, name: string) => t.db.tool.create({ data: { serverId, name, inputSchema: { type: "object" }, definitionHash: `h-${name}` } });
  Object.assign(ids, { costs: costs.id, other: other.id, costsTool: (await tool(costs.id, "top_costs")).id, otherTool: (await tool(other.id, "delete_all")).id });
});

afterAll(async () => {
  await t?.close();
});

describe(`the admin API's contract with scripts (${label})`, () => {
  it("names the scope a read-only token of an admin lacks, before it reads the body", async () => {
    const refused = await call("POST", "/roles", { token: readToken, body: roleBody("read-only-try") });
    expect(refused.status).toBe(403);
    expect(await problemOf(refused)).toMatchObject({ code: "forbidden", title: "This API token lacks the `write` scope" });
    expect(await t.db.portalRole.count({ where: { slug: "read-only-try" } })).toBe(0);

    // Not JSON at all: still the scope, not a 400 about the body.
    const garbled = await call("POST", "/roles", { token: readToken, rawBody: "{not json" });
    expect(garbled.status).toBe(403);
    expect((await problemOf(garbled)).title).toBe("This API token lacks the `write` scope");
    const tokenMint = await call("POST", "/tokens", { token: readToken, rawBody: "{not json" });
    expect(tokenMint.status).toBe(403);
    expect((await problemOf(tokenMint)).title).toBe("This API token lacks the `write` scope");

    // The same token reads; with the write scope the same body is accepted.
    expect((await call("GET", "/roles", { token: readToken })).status).toBe(200);
    expect((await call("POST", "/roles", { body: roleBody("write-scope") })).status).toBe(201);
  });

  it("says what a bad query value must be, per parameter", async () => {
    const res = await call("GET", "/servers?limit=abc");
    expect(res.status).toBe(422);
    expect(await problemOf(res)).toMatchObject({
      code: "validation_failed",
      title: "limit must be a whole number between 1 and 100",
      errors: [{ field: "limit", message: "limit must be a whole number between 1 and 100" }],
    });
    const two = await problemOf(await call("GET", "/servers?limit=0&status=broken"));
    expect(two.errors).toEqual([
      { field: "limit", message: "limit must be a whole number between 1 and 100" },
      { field: "status", message: "status must be one of waiting, ready, error, stale" },
    ]);
  });

  it("refuses a query parameter the operation does not take instead of ignoring it", async () => {
    const tools = await call("GET", "/tools?server=reviewer-costs");
    expect(tools.status).toBe(422);
    expect(await problemOf(tools)).toMatchObject({ title: "Unknown query parameter `server` (did you mean `serverId`?)", errors: [{ field: "server" }] });

    const audit = await problemOf(await call("GET", "/audit-events?action=tools/call"));
    expect(audit.status).toBe(422);
    expect(audit.title).toMatch(/^Unknown query parameter `action` \(this operation takes .*`q`/);

    // On a write, the misspelt filter stops the write: the other server's tool keeps its class.
    const patch = await call("PATCH", `/tools/${ids.otherTool}?server=reviewer-costs`, { body: { riskClass: "read" } });
    expect(patch.status).toBe(422);
    expect((await t.db.tool.findUniqueOrThrow({ where: { id: ids.otherTool } })).riskClassManual).toBe(false);
    expect((await problemOf(await call("GET", `/servers/${ids.costs}?expand=tools`))).title).toBe("Unknown query parameter `expand` (this operation takes none)");

    // The real parameter filters.
    const filtered = (await (await call("GET", `/tools?serverId=${ids.costs}&limit=100`)).json()) as { items: Array<{ id: string }> };
    expect(filtered.items.map((i) => i.id)).toEqual([ids.costsTool]);
  });

  it("answers with the status and the body shape the OpenAPI document publishes", async () => {
    const doc = (await openApi(new NextRequest("http://localhost/api/v1/openapi.json")).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { content?: { "application/json": { schema: object } } }> }>>;
    };
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    const checked: string[] = [];
    async function expectDocumented(method: "GET" | "POST" | "PATCH" | "DELETE", docPath: string, pathname: string, options: Call = {}) {
      const res = await call(method, pathname, options);
      const responses = doc.paths[docPath]![method.toLowerCase()]!.responses;
      const success = Object.keys(responses).filter((s) => s.startsWith("2"));
      expect(success, `${method} ${docPath}`).toEqual([String(res.status)]);
      const text = await res.text();
      const schema = responses[String(res.status)]!.content?.["application/json"].schema;
      if (!schema) {
        expect(text, `${method} ${docPath} documents no body`).toBe("");
        checked.push(`${method} ${docPath} ${res.status}`);
        return undefined;
      }
      expect(schema, `${method} ${docPath}`).not.toEqual({ type: "object" });
      const validate = ajv.compile(schema);
      const body = JSON.parse(text) as unknown;
      expect(validate(body) ? [] : validate.errors, `${method} ${docPath}`).toEqual([]);
      checked.push(`${method} ${docPath} ${res.status}`);
      return body as Record<string, unknown>;
    }

    await expectDocumented("GET", "/servers", "/servers");
    await expectDocumented("GET", "/tools", `/tools?serverId=${ids.costs}`);
    await expectDocumented("PATCH", "/tools/{id}", `/tools/${ids.costsTool}`, { body: { riskClass: "write" } });
    const role = (await expectDocumented("POST", "/roles", "/roles", { body: { ...roleBody("documented"), conditions: { timeWindows: [{ timeZone: "UTC", days: [1], start: "08:00", end: "18:00" }], networks: ["10.0.0.0/8"], mfaRequired: true, maxLookbackDays: 30 } } }))!;
    await expectDocumented("GET", "/roles/{id}", `/roles/${String(role.id)}`);
    await expectDocumented("GET", "/roles", "/roles");
    const portal = (await expectDocumented("POST", "/portals", "/portals", { body: { slug: "finops", name: "FinOps", serverIds: [ids.costs] } }))!;
    // A role on the portal, so that the list's nested roles are there to check.
    await t.db.portalRole.create({ data: { slug: "portal-reader", name: "Portal reader", grants: { create: [{ portalId: String(portal.id) }] } } });
    await expectDocumented("GET", "/portals", "/portals");
    await expectDocumented("POST", "/service-accounts", "/service-accounts", { body: { name: "Nightly", portalRoleId: role.id, expiresInDays: 30 } });
    const user = (await expectDocumented("POST", "/users", "/users", { body: { email: "leaver@contract.test", name: "Leaver", role: "viewer", password: "correct horse battery staple" } }))!;
    await expectDocumented("GET", "/users", "/users");
    const token = (await expectDocumented("POST", "/tokens", "/tokens", { body: { name: "short lived", scopes: ["read"], expiresInDays: 1 } }))!;
    await expectDocumented("GET", "/tokens", "/tokens");
    await expectDocumented("GET", "/audit-events", "/audit-events?limit=20");
    // Every DELETE: 204 and no body, the revocations of tokens and removals of users included.
    await expectDocumented("DELETE", "/tokens/{id}", `/tokens/${String(token.id)}`);
    await expectDocumented("DELETE", "/users/{id}", `/users/${String(user.id)}`);
    await expectDocumented("DELETE", "/roles/{id}", `/roles/${String(role.id)}`);
    expect(checked).toHaveLength(17);
  });
});
