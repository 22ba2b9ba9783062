import { describe, expect, it } from "vitest";

import { auditFilterParams } from "@/lib/schemas/audit";
import { denialWindow, overviewAuditHref } from "./audit-links";

const window = { from: "2026-12-07T17:42:00.000Z", to: "2026-12-07T18:42:31.250Z" };
const paramsOf = (href: string) => Object.fromEntries(new URL(href, "https://portico.test").searchParams);

describe("links from the overview into the audit explorer", () => {
  it("carry the window the figure was counted over, as the explorer's custom range, and the figure's exact filter", () => {
    const href = overviewAuditHref({ ...window, portal: "finops" }, { kind: "mcp.request", server: "tagging", tool: "tag_resource" });
    expect(href.startsWith("/audit?")).toBe(true);
    expect(paramsOf(href)).toEqual({ range: "custom", from: window.from, to: window.to, portal: "finops", kind: "mcp.request", server: "tagging", tool: "tag_resource" });
  });

  it("are filters the explorer accepts as they are (a preset it lacks, like 6h, would be refused)", () => {
    const href = overviewAuditHref(window, { kind: "mcp.request", actor: "sa_demo_analyst", outcome: "deny", rule: "role Analyst does not allow budgets_*" });
    const parsed = auditFilterParams.parse(paramsOf(href));
    expect(parsed).toMatchObject({ range: "custom", from: window.from, to: window.to, actor: "sa_demo_analyst", outcome: "deny", rule: "role Analyst does not allow budgets_*" });
  });

  it("leave out the portal and empty filters when none is picked", () => {
    expect(paramsOf(overviewAuditHref(window, { kind: "stepup.requested", tool: "" }))).toEqual({ range: "custom", from: window.from, to: window.to, kind: "stepup.requested" });
  });

  it("start the denials chart's links on the whole hour its hourly rollup counts from", () => {
    expect(denialWindow({ ...window, portal: "finops" })).toEqual({ from: "2026-12-07T17:00:00.000Z", to: window.to, portal: "finops" });
  });
});
