import { RE2 } from "re2-wasm";
import { BUILTIN_DETECTORS, builtinDetector, DETECTOR_LABELS, type Detector, type Match } from "./detectors";
import type { DlpAction, DlpPattern, PortalDlp } from "./policy";

export * from "./policy";

/**
 * The DLP scan of one payload (tool arguments, a tool result, prompt arguments, resource
 * contents): every string in it goes through every detector; what matched is counted per detector
 * and field, and redacted in the copy the audit record keeps. A detector whose action is `block`
 * makes the gateway refuse the call, naming the detector, never the match.
 *
 * Admin patterns run under RE2 (re2-wasm: linear time whatever the pattern or input), so no
 * pattern an admin writes can stall the gateway with catastrophic backtracking.
 */

export type DlpFinding = { detector: string; field: string; count: number };
export type ScanResult = { value: unknown; findings: DlpFinding[]; blockedBy: string | null };

/** Beyond this many characters of text in one payload, the rest is not scanned (and says so). */
const MAX_SCANNED_CHARS = 1024 * 1024;

/** Compiles an admin pattern with RE2; throws a readable error for one RE2 does not accept. */
export function compilePattern(pattern: DlpPattern): Detector {
  let re: RE2;
  try {
    re = new RE2(pattern.regex, "gu");
  } catch (error) {
    throw new Error(`Pattern "${pattern.name}" is not a valid RE2 expression: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    id: pattern.id,
    find: (text) => {
      const out: Match[] = [];
      re.lastIndex = 0;
      for (let m = re.exec(text); m !== null; m = re.exec(text)) {
        if (m[0]!.length === 0) {
          re.lastIndex += 1;
          continue;
        }
        out.push({ start: m.index, end: m.index + m[0]!.length });
      }
      return out;
    },
  };
}

export function detectorLabel(id: string, patterns: readonly DlpPattern[] = []): string {
  return (DETECTOR_LABELS as Record<string, string>)[id] ?? patterns.find((p) => p.id === id)?.name ?? id;
}

export type Scanner = {
  detectors: Detector[];
  /** A detector's name for people ("payment card number"), never the matched text. */
  label: (detector: string) => string;
  actionOf: (detector: string) => DlpAction;
  scan: (value: unknown, field: string) => ScanResult;
};

const builtins = BUILTIN_DETECTORS.map(builtinDetector);

/** A scanner for one portal: the built-ins plus the admin patterns, with the portal's actions. */
export function createScanner(options: { dlp?: PortalDlp | null; patterns?: readonly DlpPattern[] } = {}): Scanner {
  const detectors = [...builtins, ...(options.patterns ?? []).map(compilePattern)];
  const actions = options.dlp?.actions ?? {};
  const actionOf = (detector: string): DlpAction => actions[detector] ?? "redact";

  function scan(value: unknown, field: string): ScanResult {
    const counts = new Map<string, number>();
    let budget = MAX_SCANNED_CHARS;
    const redactText = (text: string): string => {
      if (budget <= 0) return text;
      budget -= text.length;
      const ranges: Array<Match & { detector: string }> = [];
      for (const d of detectors) {
        const found = d.find(text);
        if (found.length === 0) continue;
        counts.set(d.id, (counts.get(d.id) ?? 0) + found.length);
        if (actionOf(d.id) !== "flag") for (const m of found) ranges.push({ ...m, detector: d.id });
      }
      if (ranges.length === 0) return text;
      // Overlapping matches (a JWT inside a bearer token) become one redaction, named by the first.
      ranges.sort((a, b) => a.start - b.start || b.end - a.end);
      let out = "";
      let at = 0;
      for (const r of ranges) {
        if (r.end <= at) continue;
        out += text.slice(at, Math.max(at, r.start)) + `[REDACTED:${r.detector}]`;
        at = r.end;
      }
      return out + text.slice(at);
    };
    // Copy on write: a node is copied only when something under it was redacted, so a clean
    // payload (the common case, on the request path) is walked without allocating.
    const walk = (node: unknown, depth: number): unknown => {
      if (typeof node === "string") return redactText(node);
      if (node === null || typeof node !== "object" || depth > 64) return node;
      if (Array.isArray(node)) {
        let copy: unknown[] | null = null;
        for (let i = 0; i < node.length; i++) {
          const before: unknown = node[i];
          const after = walk(before, depth + 1);
          if (copy) copy.push(after);
          else if (after !== before) (copy = node.slice(0, i)).push(after);
        }
        return copy ?? node;
      }
      const record = node as Record<string, unknown>;
      let copy: Record<string, unknown> | null = null;
      const keys = Object.keys(record);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const before = record[key];
        const after = walk(before, depth + 1);
        if (copy) copy[key] = after;
        else if (after !== before) {
          copy = {};
          for (let j = 0; j < i; j++) copy[keys[j]!] = record[keys[j]!];
          copy[key] = after;
        }
      }
      return copy ?? node;
    };
    const redacted = walk(value, 0);
    const findings = [...counts].map(([detector, count]) => ({ detector, field, count }));
    const blockedBy = findings.find((f) => actionOf(f.detector) === "block")?.detector ?? null;
    // Nothing found: the original value, not a copy (the hot path allocates little).
    return { value: findings.length ? redacted : value, findings, blockedBy };
  }

  const patterns = options.patterns ?? [];
  return { detectors, actionOf, scan, label: (id) => detectorLabel(id, patterns) };
}
