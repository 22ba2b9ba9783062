import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi";
import { operations } from "./operations";

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
});
