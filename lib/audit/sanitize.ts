import { escapeUnstorable, isStorableText } from "@/lib/storable-text";

/**
 * The record outlives the input: whatever a caller sent, its audit event can be stored. Both the
 * gateway (where events are built) and the control plane's ingest (for gateways of older versions)
 * pass events through here, and the hash covers the result, which is what is stored.
 *
 * - NUL and unpaired surrogates are escaped as the six characters `\uXXXX` (see
 *   `escapeUnstorable`); the event's `data.escapedCharacters` counts them, so a `\u0000` in an
 *   event without that count is text the caller typed.
 * - A JSON value bigger or deeper than its limit is replaced by
 *   `{ "$truncated": { "bytes": <original UTF-8 JSON size>, "depth": <original depth> }, "preview": <pruned copy> }`.
 * - Top-level text fields longer than the contract allows are cut, ending in "…".
 *
 * A value that needs none of this is returned as is (no copy): this runs on the gateway's request path.
 */

export const TRUNCATED_KEY = "$truncated";
export const MAX_AUDIT_DEPTH = 32;

export type JsonLimits = {
  maxBytes: number;
  maxDepth: number;
  /** Longer strings are cut in place (structure kept), before the whole value is judged. */
  maxString?: number;
  /** False leaves unstorable characters for a later pass that counts them (the gateway's event builder). */
  shouldEscape?: boolean;
};

export type SanitizedJson = {
  value: unknown;
  /** UTF-8 size of the original value as JSON (string escapes aside, which JSON may add). */
  bytes: number;
  /** Deepest nesting of the original value (a scalar is 0). */
  depth: number;
  truncated: boolean;
  escaped: number;
};

const textBytes = (text: string) => Buffer.byteLength(text, "utf8") + 2;

/** One iterative walk: size, depth and whether anything must change. Never recurses, so any depth is safe. */
function measure(value: unknown, maxString: number, shouldEscape: boolean): { bytes: number; depth: number; isDirty: boolean } {
  let bytes = 0;
  let depth = 0;
  let isDirty = false;
  const values: unknown[] = [value];
  const depths: number[] = [0];
  while (values.length > 0) {
    const v = values.pop();
    const d = depths.pop()!;
    if (d > depth) depth = d;
    switch (typeof v) {
      case "string":
        bytes += textBytes(v);
        if (!isDirty && (v.length > maxString || (shouldEscape && !isStorableText(v)))) isDirty = true;
        break;
      case "number":
        bytes += Number.isFinite(v) ? String(v).length : 4;
        break;
      case "boolean":
        bytes += v ? 4 : 5;
        break;
      case "object":
        if (v === null) bytes += 4;
        else if (Array.isArray(v)) {
          bytes += 1 + Math.max(1, v.length);
          for (let i = 0; i < v.length; i++) {
            values.push(v[i]);
            depths.push(d + 1);
          }
        } else if (v instanceof Date) bytes += 26;
        else {
          const keys = Object.keys(v);
          bytes += 1 + Math.max(1, keys.length);
          for (const key of keys) {
            bytes += textBytes(key) + 1;
            if (!isDirty && shouldEscape && !isStorableText(key)) isDirty = true;
            values.push((v as Record<string, unknown>)[key]);
            depths.push(d + 1);
          }
        }
        break;
      case "undefined":
        break;
      default:
        // bigint, symbol, function: not JSON; rebuilt as text.
        isDirty = true;
        bytes += 8;
    }
  }
  return { bytes, depth, isDirty };
}

type Budget = { left: number; escaped: number; maxString: number; shouldEscape: boolean };

const noEscape = (text: string) => ({ text, escaped: 0 });

/** Cuts text to at most `max` characters (for max ≥ 32) including the note of what was cut. */
function cutText(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `…[${text.length} characters]`;
  let end = Math.max(0, max - note.length);
  // Never split a surrogate pair: that would create the very character being escaped.
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return `${text.slice(0, end)}${note}`;
}

/** A storable copy within the budget; depth is bounded by maxDepth, so recursion is safe. */
function rebuild(value: unknown, depth: number, maxDepth: number, budget: Budget): unknown {
  switch (typeof value) {
    case "string": {
      const { text, escaped } = (budget.shouldEscape ? escapeUnstorable : noEscape)(value);
      budget.escaped += escaped;
      const kept = cutText(text, Math.min(budget.maxString, Math.max(32, budget.left)));
      budget.left -= textBytes(kept) + 1;
      return kept;
    }
    case "number":
    case "boolean":
      budget.left -= 9;
      return value;
    case "undefined":
      return undefined;
    case "object": {
      if (value === null) {
        budget.left -= 4;
        return null;
      }
      if (value instanceof Date) return value.toISOString();
      if (depth >= maxDepth) {
        budget.left -= 40;
        return `[nested deeper than ${maxDepth} levels]`;
      }
      if (Array.isArray(value)) {
        const out: unknown[] = [];
        budget.left -= 2;
        for (let i = 0; i < value.length; i++) {
          if (budget.left <= 0) {
            out.push(`[${value.length - i} more items]`);
            break;
          }
          out.push(rebuild(value[i], depth + 1, maxDepth, budget));
        }
        return out;
      }
      const out: Record<string, unknown> = {};
      const keys = Object.keys(value);
      budget.left -= 2;
      for (let i = 0; i < keys.length; i++) {
        if (budget.left <= 0) {
          out["…"] = `[${keys.length - i} more keys]`;
          break;
        }
        const original = keys[i]!;
        const { text: key, escaped } = (budget.shouldEscape ? escapeUnstorable : noEscape)(original);
        budget.escaped += escaped;
        const safeKey = cutText(key, 200);
        budget.left -= textBytes(safeKey) + 3;
        out[safeKey] = rebuild((value as Record<string, unknown>)[original], depth + 1, maxDepth, budget);
      }
      return out;
    }
    default:
      budget.left -= 8;
      return String(value);
  }
}

/**
 * A storable form of any value: returned untouched when it is within the limits and holds no
 * unstorable character; escaped when it holds one; pruned and wrapped in the `$truncated` marker
 * when it is too big or too deep.
 */
export function sanitizeJson(value: unknown, limits: JsonLimits): SanitizedJson {
  const maxString = limits.maxString ?? Number.POSITIVE_INFINITY;
  const shouldEscape = limits.shouldEscape ?? true;
  const { bytes, depth, isDirty } = measure(value, maxString, shouldEscape);
  const isOver = bytes > limits.maxBytes || depth > limits.maxDepth;
  if (!isDirty && !isOver) return { value, bytes, depth, truncated: false, escaped: 0 };
  if (!isOver) {
    const budget: Budget = { left: Number.POSITIVE_INFINITY, escaped: 0, maxString, shouldEscape };
    return { value: rebuild(value, 0, limits.maxDepth + 1, budget), bytes, depth, truncated: false, escaped: budget.escaped };
  }
  // The marker and preview take two levels and some bytes; the slack keeps a second pass from
  // truncating the preview again (its accounting is rougher than the measure's).
  const budget: Budget = { left: Math.floor(limits.maxBytes * 0.75) - 100, escaped: 0, maxString, shouldEscape };
  const preview = rebuild(value, 0, Math.max(1, limits.maxDepth - 2), budget);
  return { value: { [TRUNCATED_KEY]: { bytes, depth }, preview }, bytes, depth, truncated: true, escaped: budget.escaped };
}

/** Escapes and cuts one text field to the contract's length. */
export function sanitizeText(text: string, maxLength: number): { text: string; escaped: number } {
  const result = escapeUnstorable(text);
  if (result.text.length <= maxLength) return result;
  let end = maxLength - 1;
  const code = result.text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--;
  return { text: `${result.text.slice(0, end)}…`, escaped: result.escaped };
}
