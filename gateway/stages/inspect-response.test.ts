import { describe, expect, it } from "vitest";

import { buildGatewayState } from "../portal-index";
import { callOf, config, riskPolicy } from "../testing/stage-fixtures";
import { createInspectResponse } from "./inspect-response";
import { createResolve } from "./resolve";

const inspectResponse = createInspectResponse();
const KEY = "AKIAIOSFODNN7EXAMPLE";

function callIn(dlp?: { actions?: Record<string, "redact" | "block" | "flag">; capture?: "off" | "metadata" | "full" }, args: Record<string, unknown> = {}) {
  const state = buildGatewayState(
    { ...config, portals: config.portals.map((p) => ({ ...p, dlp: dlp ? { actions: dlp.actions ?? {}, capture: dlp.capture ?? "full" } : undefined })) },
    "http://gw",
    riskPolicy,
  );
  const call = callOf("tools/call", { name: "a_read", arguments: args });
  expect(createResolve({ getState: () => state, hasDrifted: () => false })(call)).toBeUndefined();
  return call;
}

const resultWithKey = { content: [{ type: "text", text: `key ${KEY}` }] };

describe("inspect response (DLP)", () => {
  it("passes the result to the caller as the upstream sent it, and keeps a redacted copy for the record", () => {
    const call = callIn();
    call.result = resultWithKey;
    const answer = inspectResponse.inspect(call, { result: resultWithKey });
    expect(answer).toEqual({ result: resultWithKey });
    inspectResponse.forAudit(call);
    expect(call.result).toEqual({ content: [{ type: "text", text: "key [REDACTED:aws_access_key]" }] });
    expect(call.dlp).toEqual([{ detector: "aws_access_key", field: "result", count: 1 }]);
  });

  it("withholds a result on a portal set to block", () => {
    const call = callIn({ actions: { aws_access_key: "block" } });
    call.result = resultWithKey;
    const answer = inspectResponse.inspect(call, { result: resultWithKey });
    expect(answer).toEqual({ ending: { kind: "tool_error", text: expect.stringContaining('AWS access key id (detector "aws_access_key"), so it was withheld') } });
    expect(call.outcome).toBe("deny");
  });

  it("redacts the arguments of a call that never reached inspect-request (denied earlier)", () => {
    const call = callIn(undefined, { contact: "alice@example.com" });
    call.outcome = "deny";
    inspectResponse.forAudit(call);
    expect(call.arguments).toEqual({ contact: "[REDACTED:email]" });
    expect(call.dlp).toEqual([{ detector: "email", field: "arguments", count: 1 }]);
  });

  it("keeps no payload under capture metadata, and no DLP counts under off", () => {
    const meta = callIn({ capture: "metadata" }, { contact: "alice@example.com" });
    meta.result = resultWithKey;
    inspectResponse.forAudit(meta);
    expect(meta.arguments).toBeUndefined();
    expect(meta.result).toBeUndefined();
    expect(meta.dlp).toHaveLength(2);
    const off = callIn({ capture: "off" }, { contact: "alice@example.com" });
    inspectResponse.forAudit(off);
    expect(off.arguments).toBeUndefined();
    expect(off.dlp).toBeUndefined();
  });

  it("blocks a resource's contents and an input_required result's questions, as it blocks a tool's result", () => {
    const call = callIn({ actions: { aws_access_key: "block" } });
    const read = { ...call, method: "resources/read" };
    const contents = { contents: [{ uri: "test://x", text: `id ${KEY}` }] };
    const blocked = inspectResponse.inspect(read, { result: contents });
    expect(blocked).toMatchObject({ ending: { kind: "rpc_error", message: expect.stringContaining("the resource contains") } });
    expect(JSON.stringify(blocked)).not.toContain(KEY);

    const asking = { resultType: "input_required", inputRequests: { q: { method: "elicitation/create", params: { message: `Confirm ${KEY}?` } } } };
    call.result = asking;
    expect(inspectResponse.inspect(call, { result: asking })).toMatchObject({ ending: { kind: "tool_error" } });
  });
});
