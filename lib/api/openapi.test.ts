import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi";
import { findOperation, operations } from "./operations";

type Doc = ReturnType<typeof openApiDocument>;
type OperationDoc = { parameters: Array<{ name: string; in: string }>; responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }> };
const opDoc = (doc: Doc, method: string, p: string) => doc.paths[p]![method] as OperationDoc;

/** Every method every /api/v1 route module exports, as `get /servers/{id}`. */
function routeMethods(): string[] {
  const root = path.resolve(import.meta.dirname, "../../app/api/v1");
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name === "route.ts") {
        const route = `/${path.relative(root, dir)}`.replace(/\[(\w+)\]/g, "{$1}");
        if (route === "/openapi.json") continue;
        for (const [, method] of readFileSync(full, "utf8").matchAll(/export (?:const|async function|function) (GET|POST|PATCH|PUT|DELETE)\b/g)) found.push(`${method!.toLowerCase()} ${route}`);
      }
    }
  };
  walk(root);
  return found.sort();
}

describe("openApiDocument", () => {
  const doc = openApiDocument("http://localhost:3000/api/v1");

  it("describes every operation once", () => {
    const count = Object.values(doc.paths).reduce((n, methods) => n + Object.keys(methods).length, 0);
    expect(count).toBe(operations.length);
    expect(new Set(operations.map((o) => `${o.method} ${o.path}`)).size).toBe(operations.length);
  });

  it("derives request bodies from the zod schemas", () => {
    const post = doc.paths["/servers"]!.post as { requestBody: { content: { "application/json": { schema: { required: string[]; properties: Record<string, unknown> } } } } };
    const schema = post.requestBody.content["application/json"].schema;
    expect(schema.required).toEqual(expect.arrayContaining(["slug", "name", "url"]));
    expect(schema.properties).toHaveProperty("credential");
  });

  it("is valid JSON with unique operation ids", () => {
    const ids = Object.values(doc.paths).flatMap((m) => Object.values(m).map((o) => (o as { operationId: string }).operationId));
    expect(new Set(ids).size).toBe(ids.length);
    expect(() => JSON.parse(JSON.stringify(doc))).not.toThrow();
  });

  it("knows the operation of every route handler, so none escapes the scope and query checks", () => {
    const routes = routeMethods();
    expect(routes).toEqual(operations.map((o) => `${o.method} ${o.path}`).sort());
    for (const route of routes) {
      const [method, p] = route.split(" ") as [string, string];
      expect(findOperation(method.toUpperCase(), `/api/v1${p.replace(/\{\w+\}/g, "x1")}`)?.path, route).toBe(p);
    }
    expect(findOperation("GET", "/api/v1/audit-events/facets")?.path).toBe("/audit-events/facets");
    expect(findOperation("GET", "/api/v1/nothing-here")).toBeNull();
  });

  it("answers every DELETE with 204 and no body, and says so", () => {
    for (const op of operations.filter((o) => o.method === "delete")) {
      expect(op.status, op.path).toBe(204);
      expect(opDoc(doc, "delete", op.path).responses["204"]!.content).toBeUndefined();
    }
    expect(doc.info.description).toContain("204 with no body for every DELETE");
  });

  it("lists each operation's query parameters from its schema and documents the 422 a bad one gets", () => {
    for (const op of operations) {
      const documented = opDoc(doc, op.method, op.path).parameters.filter((p) => p.in === "query").map((p) => p.name);
      expect(documented, `${op.method} ${op.path}`).toEqual(Object.keys(op.query?.shape ?? {}));
      expect(opDoc(doc, op.method, op.path).responses, `${op.method} ${op.path}`).toHaveProperty("422");
    }
    expect(opDoc(doc, "get", "/tools").parameters.map((p) => p.name)).toContain("serverId");
  });

  it("documents the main resources' responses from their schemas, not as any object", () => {
    const ok = (method: string, p: string, status = "200") => opDoc(doc, method, p).responses[status]!.content!["application/json"]!.schema;
    const page = ok("get", "/servers") as { required: string[]; properties: { items: { items: { required: string[] } } } };
    expect(page.required).toEqual(["items", "nextCursor"]);
    expect(page.properties.items.items.required).toEqual(expect.arrayContaining(["id", "slug", "status", "toolCount"]));
    expect(ok("post", "/roles", "201")).toHaveProperty("properties.grants");
    expect(ok("post", "/tokens", "201")).toHaveProperty("properties.token");
    expect(opDoc(doc, "post", "/roles").responses).not.toHaveProperty("200");
  });
});
