import { describe, expect, it } from "vitest";
import { slugify } from "./slugify";

describe("slugify", () => {
  it.each([
    ["Cost Explorer", 40, "cost-explorer"],
    ["  Coûts & Budgets — EU  ", 40, "couts-budgets-eu"],
    ["FinOps_Team", 40, "finops-team"],
    ["a very long server name that goes on", 12, "a-very-long"],
    ["***", 40, ""],
  ])("%j (max %i) → %j", (name, max, slug) => {
    expect(slugify(name, max)).toBe(slug);
  });
});
