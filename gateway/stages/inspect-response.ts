import type { Answer } from "../answer";
import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { deny, rpcEnding, toolEnding, type Call } from "../exchange";

/**
 * Stage 8, inspect response (DLP), in two parts:
 * - `inspect`, right after forward: the upstream's answer goes through the portal's detectors (a
 *   tool's result, a prompt's messages, a resource's contents, and the questions an input_required
 *   result asks the client); a detector set to `block` withholds it from the caller (an error
 *   naming the detector).
 * - `forAudit`, just before the audit stage, for every call however it ended: what the record
 *   keeps is the redacted payloads (arguments not scanned yet, as for a call denied before
 *   inspect-request or a prompt's arguments, are scanned here), or none, by the portal's capture
 *   mode. Nothing unredacted reaches the spool.
 */
/** Results inspected, and what the refusal calls each (an input_required result's questions included). */
const WHAT: Record<string, string> = { "tools/call": "result", "prompts/get": "prompt", "resources/read": "resource" };
const INSPECTED = new Set(Object.keys(WHAT));

export function createInspectResponse() {
  function inspect(call: Call, answer: Answer): Answer {
    const dlp = call.portal?.dlp;
    if (!dlp || !("result" in answer) || !INSPECTED.has(call.method)) return answer;
    // A tool's result is on the call; a prompt's messages and a resource's contents are the answer.
    const value = call.method === "tools/call" ? call.result : answer.result;
    if (value === undefined) return answer;
    const scan = dlp.scanner.scan(value, "result");
    if (call.method === "tools/call") call.redacted = { ...call.redacted, result: scan.value };
    if (scan.findings.length) (call.dlp ??= []).push(...scan.findings);
    if (!scan.blockedBy) return answer;
    const label = dlp.scanner.label(scan.blockedBy);
    const text = `Blocked by data loss prevention: the ${WHAT[call.method]} contains a ${label} (detector "${scan.blockedBy}"), so it was withheld.`;
    return { ending: deny(call, `blocked by DLP: ${label} (${scan.blockedBy}) in the result`, call.method === "tools/call" ? toolEnding(text) : rpcEnding(ErrorCode.InternalError, text)) };
  }

  function forAudit(call: Call): void {
    const dlp = call.portal?.dlp;
    if (!dlp) return;
    const redacted = call.redacted ?? {};
    for (const field of ["arguments", "result"] as const) {
      if (call[field] === undefined || field in redacted) continue;
      const scan = dlp.scanner.scan(call[field], field);
      redacted[field] = scan.value;
      if (scan.findings.length) (call.dlp ??= []).push(...scan.findings);
    }
    call.redacted = redacted;
    const keep = dlp.capture === "full";
    call.arguments = keep ? redacted.arguments : undefined;
    call.result = keep ? redacted.result : undefined;
    if (dlp.capture === "off") call.dlp = undefined;
  }

  return { inspect, forAudit };
}

export type InspectResponse = ReturnType<typeof createInspectResponse>;
