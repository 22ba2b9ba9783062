import { describe, expect, it } from "vitest";

import { prefixClashes } from "./prefix-clashes";

describe("prefixClashes", () => {
  it.each([
    ["no servers", [], []],
    ["one server, whatever it offers", [{ slug: "a", prompts: [{ name: "summary" }, { name: "summary" }], resources: [{ uri: "x://1" }] }], []],
    [
      "a prompt name and a resource URI two servers share, named with their servers in slug order",
      [
        { slug: "tagging", prompts: [{ name: "summary" }, { name: "tags" }], resources: [{ uri: "finops://accounts" }] },
        { slug: "budgets", prompts: [{ name: "summary" }], resources: [{ uri: "finops://accounts" }, { uri: "finops://budgets" }] },
      ],
      [
        { kind: "prompt", name: "summary", servers: ["budgets", "tagging"] },
        { kind: "resource", name: "finops://accounts", servers: ["budgets", "tagging"] },
      ],
    ],
    ["synced lists that are not lists, or entries without names", [{ slug: "a", prompts: null, resources: [{}] }, { slug: "b", prompts: "x", resources: [1] }], []],
  ])("%s", (_, servers, expected) => {
    expect(prefixClashes(servers)).toEqual(expected);
  });
});
