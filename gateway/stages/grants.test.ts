import { describe, expect, it } from "vitest";

import { argumentsHash, type SnapshotElevatedGrant } from "@/lib/config/elevated-grants";
import { formatUtcText } from "@/lib/format";

import type { TokenIdentity } from "../auth";
import { newCall, newCaller, newRequestContext } from "../exchange";
import { buildGatewayState, type PolicyAdapter } from "../portal-index";
import { config, identity as base } from "../testing/stage-fixtures";
import { createDecide } from "./decide";
import { createGrants } from "./grants";
import { createResolve } from "./resolve";

/** Financial and write tools need step-up; the elevated scope for the tool's class allows them. */
const scopePolicy: PolicyAdapter = {
  decide: (_portal, tool, identity) =>
    tool.riskClass === "read" || identity.scopes.includes(`mcp:elevated:${tool.riskClass}`)
      ? { effect: "allow", reasons: ["allowed"] }
      : { effect: "step_up", reasons: ["needs approval"], requiredScope: `mcp:elevated:${tool.riskClass}` },
};

const FUTURE = new Date(Date.now() + 3_600_000).toISOString();
const PAST = new Date(Date.now() - 1_000).toISOString();
const grant = (fields: Partial<SnapshotElevatedGrant>): SnapshotElevatedGrant => ({
  id: "g-window",
  principalKind: "service_account",
  subject: "sa-test",
  portalSlug: "p1",
  riskClass: "write",
  serverSlug: null,
  toolName: null,
  argumentsHash: null,
  endsAt: FUTURE,
  ...fields,
});

function run(grants: SnapshotElevatedGrant[], name: string, args: Record<string, unknown>, who: Partial<TokenIdentity> = {}, previous?: ReturnType<typeof buildGatewayState>) {
  const state = buildGatewayState({ ...config, elevatedGrants: grants }, "http://gw", scopePolicy, previous);
  const resolve = createResolve({ getState: () => state, hasDrifted: () => false });
  const decide = createDecide({ gatewayUrl: "http://gw", controlPlaneUrl: "http://cp" });
  const stage = createGrants();
  const call = newCall(newCaller({ portalSlug: "p1", identity: { ...base, ...who } }), newRequestContext("r", null), 1, "tools/call", { name, arguments: args });
  expect(resolve(call)).toBeUndefined();
  stage.check(call);
  const ending = decide(call);
  if (!ending) stage.settle(call);
  return { call, ending, state };
}

describe("grants", () => {
  it("lends a caller without the scope the elevated access its principal holds, and names the grant", () => {
    const { call, ending } = run([grant({})], "a_write", {});
    expect(ending).toBeUndefined();
    expect(call.elevation).toMatchObject({ grantId: "g-window", isPerCall: false });
    expect(call.reasons).toContain("under elevated grant g-window");
  });

  it("challenges with base and elevated scopes and links the request page when nothing is held", () => {
    const { ending } = run([grant({ subject: "someone-else" })], "a_write", {});
    expect(ending).toMatchObject({ kind: "http", status: 403, fallback: { text: expect.stringContaining("http://cp/step-up/new?portal=p1&risk=write&server=a&tool=write") } });
    expect(ending?.kind === "http" && ending.headers?.["www-authenticate"]).toContain('scope="mcp mcp:elevated:write"');
  });

  it("accepts an elevated token only while its grant is active", () => {
    const token = { scopes: ["mcp", "mcp:elevated:write"], elevationId: "g-window" };
    expect(run([grant({})], "a_write", {}, token).ending).toBeUndefined();
    // Revoked: the grant left the snapshot. Ended: its time is past. Another's: not this subject's.
    expect(run([], "a_write", {}, token).ending).toMatchObject({ status: 403 });
    expect(run([grant({ endsAt: PAST })], "a_write", {}, token).ending).toMatchObject({ status: 403 });
    expect(run([grant({ subject: "other" })], "a_write", {}, token).ending).toMatchObject({ status: 403 });
    // An elevated scope with no grant behind it at all.
    expect(run([], "a_write", {}, { scopes: ["mcp", "mcp:elevated:write"] }).ending).toMatchObject({ status: 403 });
  });

  it("matches a per-call grant only on its exact arguments, once", () => {
    const args = { amount: 5000, account: "42" };
    const perCall = grant({ id: "g-call", riskClass: "financial", serverSlug: "b", toolName: "pay", argumentsHash: argumentsHash(args) });
    expect(run([perCall], "b_pay", { amount: 9000, account: "42" }).ending).toMatchObject({ status: 403 });
    const first = run([perCall], "b_pay", { account: "42", amount: 5000 });
    expect(first.ending).toBeUndefined();
    expect(first.call.elevation).toMatchObject({ grantId: "g-call", isPerCall: true });
    // Used up, also across a new config version that still lists it.
    expect(run([perCall], "b_pay", args, {}, first.state).ending).toMatchObject({ status: 403 });
    // A token naming a per-call grant gets nothing from it.
    expect(run([perCall], "b_pay", { amount: 1 }, { scopes: ["mcp", "mcp:elevated:financial"], elevationId: "g-call" }).ending).toMatchObject({ status: 403 });
  });

  it("names the grant that ended, and tells the caller its elevated access ended", () => {
    const token = { scopes: ["mcp", "mcp:elevated:write"], elevationId: "g-window" };
    const message = (ending: unknown) => (ending as { message: string }).message;
    // Revoked or expired and dropped: the snapshot lists active grants only, so it cannot tell which.
    const dropped = run([], "a_write", {}, token);
    expect(dropped.call.reasons).toEqual(["needs approval", "elevated grant g-window is no longer active"]);
    expect(message(dropped.ending)).toMatch(/^Your elevated access ended \(elevated grant g-window is no longer active\)\. Tool "a_write" needs elevated access/);
    expect(dropped.ending).toMatchObject({ fallback: { text: message(dropped.ending) } });
    expect(dropped.ending?.kind === "http" && dropped.ending.headers?.["www-authenticate"]).toContain('error_description="Your elevated access ended. This tool needs elevated access: ');
    // Past its end while the snapshot still lists it: the time is known.
    const expired = run([grant({ endsAt: PAST })], "a_write", {}, token);
    expect(expired.call.reasons).toContain(`elevated grant g-window expired at ${formatUtcText(new Date(PAST))}`);
    // A principal without an elevated token, whose grant ran out.
    expect(run([grant({ endsAt: PAST })], "a_write", {}).call.reasons).toContain(`elevated grant g-window expired at ${formatUtcText(new Date(PAST))}`);
  });

  it("names a used per-call grant, and says nothing of grants that never covered this call", () => {
    const args = { amount: 5000 };
    const perCall = grant({ id: "g-call", riskClass: "financial", serverSlug: "b", toolName: "pay", argumentsHash: argumentsHash(args) });
    const first = run([perCall], "b_pay", args);
    expect(run([perCall], "b_pay", args, {}, first.state).call.reasons).toEqual(["needs approval", "per-call grant g-call was used by an earlier call"]);
    const untouched = (grants: SnapshotElevatedGrant[], who: Partial<TokenIdentity> = {}) => {
      const { call, ending } = run(grants, "a_write", {}, who);
      expect(call.reasons).toEqual(["needs approval"]);
      expect((ending as { message: string }).message).not.toContain("ended");
    };
    // Another subject's, another class's, one still active for another class, and a token for another class.
    untouched([grant({ subject: "other", endsAt: PAST })]);
    untouched([grant({ riskClass: "financial", endsAt: PAST })]);
    untouched([grant({ subject: "other" })], { scopes: ["mcp", "mcp:elevated:write"], elevationId: "g-window" });
    untouched([], { scopes: ["mcp", "mcp:elevated:financial"], elevationId: "g-window" });
  });

  it("leaves a caller with neither scope nor grant untouched", () => {
    const { call } = run([], "a_read", {});
    expect(call.elevation).toBeUndefined();
  });
});
