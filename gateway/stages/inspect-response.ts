import type { Answer } from "../answer";
import { deny, toolEnding, type Call } from "../exchange";

/**
 * Stage 8, inspect response (DLP), in two parts:
 * - `inspect`, right after forward: the upstream's result goes through the portal's detectors; a
 *   detector set to `block` withholds it from the caller (an error naming the detector).
 * - `forAudit`, just before the audit stage, for every call however it ended: what the record
 *   keeps is the redacted payloads (arguments not scanned yet, as for a call denied before
 *   inspect-request or a prompt's arguments, are scanned here), or none, by the portal's capture
 *   mode. Nothing unredacted reaches the spool.
 */
export function createInspectResponse() {
  function inspect(call: Call, answer: Answer): Answer {
    const dlp = call.portal?.dlp;
    if (!dlp || !("result" in answer) || call.result === undefined || call.method !== "tools/call") return answer;
    const scan = dlp.scanner.scan(call.result, "result");
    call.redacted = { ...call.redacted, result: scan.value };
    if (scan.findings.length) (call.dlp ??= []).push(...scan.findings);
    if (!scan.blockedBy) return answer;
    const label = dlp.scanner.label(scan.blockedBy);
    return { ending: deny(call, `blocked by DLP: ${label} (${scan.blockedBy}) in the result`, toolEnding(`Blocked by data loss prevention: the result contains a ${label} (detector "${scan.blockedBy}"), so it was withheld.`)) };
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
