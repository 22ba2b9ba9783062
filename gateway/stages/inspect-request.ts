import { deny, toolEnding, type Call, type Ending } from "../exchange";

/**
 * Stage 6, inspect request (DLP): the tool call's arguments go through the portal's detectors
 * before anything leaves the gateway. Matches are counted on the call and redacted in the copy
 * the audit record keeps (the upstream still gets what the caller sent); a detector set to
 * `block` refuses the call with an error naming the detector, never the matched text.
 */
export function createInspectRequest() {
  return (call: Call): Ending | undefined => {
    const dlp = call.portal?.dlp;
    if (!dlp || call.method !== "tools/call" || call.arguments === undefined) return undefined;
    const scan = dlp.scanner.scan(call.arguments, "arguments");
    call.redacted = { ...call.redacted, arguments: scan.value };
    if (scan.findings.length) (call.dlp ??= []).push(...scan.findings);
    if (!scan.blockedBy) return undefined;
    call.upstreamOutcome = "not_called";
    const label = dlp.scanner.label(scan.blockedBy);
    return deny(
      call,
      `blocked by DLP: ${label} (${scan.blockedBy}) in the arguments`,
      toolEnding(`Blocked by data loss prevention: the arguments contain a ${label} (detector "${scan.blockedBy}"). Remove it and try again.`),
    );
  };
}

export type InspectRequest = ReturnType<typeof createInspectRequest>;
