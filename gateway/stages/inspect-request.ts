import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { deny, rpcEnding, toolEnding, type Call, type Ending } from "../exchange";

/**
 * Stage 6, inspect request (DLP): what the caller sends goes through the portal's detectors before
 * anything leaves the gateway: a tool call's arguments, a prompt's arguments, and the answers a
 * 2026-07-28 client brings back to what an upstream asked (`inputResponses`: sampling, elicitation,
 * roots). Matches are counted on the call and redacted in the copy the audit record keeps (the
 * upstream still gets what the caller sent); a detector set to `block` refuses the request with an
 * error naming the detector, never the matched text.
 */

/** What of each request is inspected, and the field name findings are counted under. */
function payloadOf(call: Call): { value: unknown; field: "arguments" | "inputResponses" }[] {
  const out: { value: unknown; field: "arguments" | "inputResponses" }[] = [];
  if (call.method === "tools/call" && call.arguments !== undefined) out.push({ value: call.arguments, field: "arguments" });
  if (call.method === "prompts/get" && call.params?.arguments !== undefined) out.push({ value: call.params.arguments, field: "arguments" });
  if (call.params?.inputResponses !== undefined) out.push({ value: call.params.inputResponses, field: "inputResponses" });
  return out;
}

export function createInspectRequest() {
  return (call: Call): Ending | undefined => {
    const dlp = call.portal?.dlp;
    if (!dlp) return undefined;
    for (const { value, field } of payloadOf(call)) {
      const scan = dlp.scanner.scan(value, field);
      if (field === "arguments") call.redacted = { ...call.redacted, arguments: scan.value };
      if (scan.findings.length) (call.dlp ??= []).push(...scan.findings);
      if (!scan.blockedBy) continue;
      call.upstreamOutcome = "not_called";
      const label = dlp.scanner.label(scan.blockedBy);
      const where = field === "arguments" ? "the arguments" : "the answers to the server's questions";
      const text = `Blocked by data loss prevention: ${where} contain a ${label} (detector "${scan.blockedBy}"). Remove it and try again.`;
      // A tool's refusal is a tool result the model can read; a prompt's is a JSON-RPC error.
      return deny(call, `blocked by DLP: ${label} (${scan.blockedBy}) in ${field === "arguments" ? "the arguments" : "the input responses"}`, call.method === "tools/call" ? toolEnding(text) : rpcEnding(ErrorCode.InvalidParams, text));
    }
    return undefined;
  };
}

export type InspectRequest = ReturnType<typeof createInspectRequest>;
