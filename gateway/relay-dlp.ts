import type { CaptureMode, DlpFinding, Scanner } from "@/lib/dlp/scan";

/**
 * DLP for what the gateway relays between an upstream and a client outside a call's own
 * arguments and result: an upstream's sampling, elicitation and roots requests, and the client's
 * answers to them (legacy sessions' relay, and the questions and answers of input_required rounds
 * an upstream call held open on this gateway). The same detectors and per-portal actions as tool
 * calls: matches are redacted in the audit copy, `flag` only counts, `block` refuses with a
 * message naming the detector, never the matched text.
 */

export type PortalDlpView = { scanner: Scanner; capture: CaptureMode };

export type RelayedInspection = {
  findings: DlpFinding[];
  /** The payload as an audit record may keep it (matches redacted); absent when the portal captures none. */
  forAudit: unknown;
  /** A message for whoever is refused, naming the detector; null when nothing blocks. */
  refusal: string | null;
  blockedBy: string | null;
};

const WHAT: Record<string, string> = {
  request: "the server's request",
  answer: "the client's answer",
  inputRequests: "the server's questions",
  inputResponses: "the answers to the server's questions",
};

export function inspectRelayed(dlp: PortalDlpView | undefined, value: unknown, field: keyof typeof WHAT): RelayedInspection {
  if (!dlp || value === undefined) return { findings: [], forAudit: undefined, refusal: null, blockedBy: null };
  const scan = dlp.scanner.scan(value, field);
  const refusal = scan.blockedBy
    ? `Blocked by data loss prevention: ${WHAT[field]} contains a ${dlp.scanner.label(scan.blockedBy)} (detector "${scan.blockedBy}").`
    : null;
  return { findings: scan.findings, forAudit: dlp.capture === "full" ? scan.value : undefined, refusal, blockedBy: scan.blockedBy };
}
