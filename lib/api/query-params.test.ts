import { describe, expect, it } from "vitest";
import { listAuditParams } from "@/lib/schemas/audit";
import { listServersParams } from "@/lib/schemas/server";
import { listToolsParams } from "@/lib/schemas/tool";
import { queryProblems } from "./query-params";

const problems = (schema: Parameters<typeof queryProblems>[0], query: string) => queryProblems(schema, new URLSearchParams(query));

describe("queryProblems", () => {
  it.each([
    [listServersParams, "limit=abc", "limit", "limit must be a whole number between 1 and 100"],
    [listServersParams, "limit=1.5", "limit", "limit must be a whole number between 1 and 100"],
    [listServersParams, "limit=0", "limit", "limit must be a whole number between 1 and 100"],
    [listAuditParams, "limit=500", "limit", "limit must be a whole number between 1 and 200"],
    [listServersParams, "status=broken", "status", "status must be one of waiting, ready, error, stale"],
    [listAuditParams, "from=yesterday", "from", "from must be a date and time with a zone (ISO 8601, e.g. 2026-12-01T09:00:00Z)"],
    [listServersParams, `q=${"x".repeat(201)}`, "q", "q must be at most 200 characters"],
    [listAuditParams, "cursor=abc", "cursor", "cursor: Not a valid cursor"],
  ])("names the parameter and its bounds: %#", (schema, query, field, message) => {
    expect(problems(schema, query)).toEqual([{ field, message }]);
  });

  it("refuses a parameter the operation does not take, with the likely one", () => {
    expect(problems(listToolsParams, "server=reviewer-costs")).toEqual([{ field: "server", message: "Unknown query parameter `server` (did you mean `serverId`?)" }]);
    expect(problems(listToolsParams, "serverid=x")[0]!.message).toContain("did you mean `serverId`?");
    expect(problems(listServersParams, "limt=5")[0]!.message).toContain("did you mean `limit`?");
  });

  it("lists what the operation takes when nothing is close, and says so when it takes none", () => {
    const [action] = problems(listAuditParams, "action=tools/call");
    expect(action!.message).toMatch(/^Unknown query parameter `action` \(this operation takes `range`, `from`, .*`q`, `cursor`, `limit`, `order`\)$/);
    expect(problems(undefined, "expand=1")).toEqual([{ field: "expand", message: "Unknown query parameter `expand` (this operation takes none)" }]);
  });

  it("refuses a parameter given twice (only one of them would count)", () => {
    expect(problems(listToolsParams, "serverId=a&serverId=b")).toEqual([{ field: "serverId", message: "Query parameter `serverId` is given more than once" }]);
  });

  it("accepts the queries the dashboard sends", () => {
    expect(problems(listToolsParams, "serverId=s1&limit=100&cursor=abc")).toEqual([]);
    expect(problems(listServersParams, "q=costs&status=ready")).toEqual([]);
    expect(problems(listAuditParams, "kind=mcp.request&outcome=deny&order=asc&limit=50")).toEqual([]);
    expect(problems(undefined, "")).toEqual([]);
  });
});
