import { describe, expect, it } from "vitest";
import { createServerInput, updateServerInput } from "./server";
import { updatePortalInput } from "./portal";
import { createRoleInput, updateRoleInput } from "./role";
import { updateUserInput } from "./user";

describe("update schemas change only what they name", () => {
  it.each([
    ["server", updateServerInput, { name: "Costs" }],
    ["portal", updatePortalInput, { name: "FinOps" }],
    ["role", updateRoleInput, { name: "Analyst" }],
    ["user", updateUserInput, { name: "Ana" }],
  ] as const)("%s", (_name, schema, input) => {
    expect(schema.parse(input)).toEqual(input);
  });

  it("refuses an empty update", () => {
    expect(updateServerInput.safeParse({}).success).toBe(false);
  });
});

describe("createServerInput", () => {
  const valid = { slug: "cost-explorer", name: "Costs", url: "http://127.0.0.1:4101/mcp" };

  it("fills defaults", () => {
    expect(createServerInput.parse(valid)).toMatchObject({ transport: "streamable_http", credential: { kind: "none" }, description: "" });
  });

  it.each([
    [{ slug: "cost_explorer" }, "slug"],
    [{ slug: "A" }, "slug"],
    [{ url: "ftp://example.com" }, "url"],
    [{ url: "javascript:alert(1)" }, "url"],
    [{ credential: { kind: "reference", headerName: "Authorization", ref: "vault:x" } }, "credential.ref"],
    [{ credential: { kind: "header", headerName: "Bad Header", value: "x" } }, "credential.headerName"],
  ])("refuses %j on field %s", (patch, field) => {
    const result = createServerInput.safeParse({ ...valid, ...patch });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join("."))).toContain(field);
  });
});

describe("createRoleInput", () => {
  it("refuses a tool grant without its server and bad conditions", () => {
    const result = createRoleInput.safeParse({
      slug: "analyst",
      name: "Analyst",
      grants: [{ portalId: "p1", toolName: "get_cost" }],
      conditions: { networks: ["10.0.0.0/33"], timeWindows: [{ days: [1], start: "09:00", end: "18:00", timeZone: "Mars/Olympus" }] },
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(expect.arrayContaining(["grants.0.serverSlug", "conditions.networks.0", "conditions.timeWindows.0.timeZone"]));
  });
});

describe("strings the database cannot store", () => {
  it.each([
    ["a NUL in a portal name", updatePortalInput, { name: "Fin\u0000Ops" }, ["name"]],
    ["a lone surrogate in a role principal", createRoleInput, { slug: "ops", name: "Ops", principals: [{ kind: "user", value: "a\ud800" }] }, ["principals", 0, "value"]],
    ["a NUL in a server's credential", createServerInput, { slug: "costs", name: "Costs", url: "https://costs.example", credential: { kind: "header", headerName: "x-key", value: "k\u0000" } }, ["credential", "value"]],
  ] as const)("refuses %s, naming the field", (_case, schema, input, path) => {
    const result = schema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues).toEqual([expect.objectContaining({ path, message: expect.stringContaining("cannot be stored") })]);
  });

  it("accepts well-formed text, emoji included", () => {
    expect(updatePortalInput.safeParse({ name: "FinOps 💸" }).success).toBe(true);
  });
});
