import { describe, expect, it } from "vitest";
import { describeVersionSummary } from "./version-summary";

describe("describeVersionSummary", () => {
  it.each([
    ["POST /api/v1/step-up-requests/cmabc123/approve by manager@example.com", "Step-up request approved by manager@example.com"],
    ["POST /api/v1/step-up-requests/cmabc123/deny by manager@example.com", "Step-up request denied by manager@example.com"],
    ["POST /api/v1/elevated-grants/g1/revoke by admin@example.com", "Step-up grant revoked by admin@example.com"],
    ["PATCH /api/v1/portals/p1/tools/t1 by admin@example.com", "Tool in a portal changed by admin@example.com"],
    ["PUT /api/v1/settings/dlp by admin@example.com", "DLP settings changed by admin@example.com"],
    ["DELETE /api/v1/users/u1 by system", "User removed by the system"],
  ])("%s reads as a sentence", (summary, words) => expect(describeVersionSummary(summary)).toBe(words));

  it.each(["Initial configuration", "periodic republish (expired revocations dropped)", "POST /api/v1/widgets/w1 by admin@example.com", "GET /api/v1/servers by admin@example.com"])(
    "%s, which it does not know, stays as stored",
    (summary) => expect(describeVersionSummary(summary)).toBe(summary),
  );
});
