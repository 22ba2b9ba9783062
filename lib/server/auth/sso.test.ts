import { describe, expect, it } from "vitest";
import { groupsFromClaim, roleFromGroups } from "./sso";

describe("roleFromGroups", () => {
  const map = { "finops-admins": "admin", "finops-managers": "approver", audit: "auditor" } as const;
  it.each([
    [["audit", "finops-admins"], "admin"],
    [["finops-managers", "audit"], "approver"],
    [["audit"], "auditor"],
    [["sales"], "viewer"],
    [[], "viewer"],
  ])("groups %j give %s", (groups, role) => {
    expect(roleFromGroups(groups, map, "viewer")).toBe(role);
  });
  it("refuses unmapped users when there is no default role", () => {
    expect(roleFromGroups(["sales"], map, "none")).toBeNull();
  });
});

describe("groupsFromClaim", () => {
  it("accepts arrays and space or comma separated strings and drops non-strings", () => {
    expect(groupsFromClaim(["a", 1, "b"])).toEqual(["a", "b"]);
    expect(groupsFromClaim("a, b c")).toEqual(["a", "b", "c"]);
    expect(groupsFromClaim(undefined)).toEqual([]);
  });
});
