import * as nodeCrypto from "node:crypto";
import { createHash } from "node:crypto";
import { z } from "zod";

import { MAX_AUDIT_DEPTH, sanitizeJson, sanitizeText, type JsonLimits } from "./sanitize";

/** The longest text each content field is stored with; longer text is cut, never refused. */
const TEXT_LIMITS = {
  actorId: 200,
  actorLabel: 320,
  action: 128,
  targetType: 64,
  targetId: 200,
  portal: 128,
  server: 128,
  tool: 256,
  sourceIp: 64,
  requestId: 128,
} as const;
const MAX_REASONS = 50;
const MAX_REASON_LENGTH = 1000;

/**
 * What the store keeps of `data`: generous, because config changes carry whole records; the
 * gateway builds its events well inside it, so sanitising again at ingest changes nothing.
 */
export const STORED_DATA_LIMITS: JsonLimits = { maxBytes: 1024 * 1024, maxDepth: MAX_AUDIT_DEPTH, maxString: 256 * 1024 };

/**
 * The audit event contract shared by the control plane and the gateway. Events are hash-chained
 * in insertion order: each hash covers the previous one, so editing or deleting any stored event
 * breaks every later hash.
 *
 * Structural fields (id, time, kind, actor type, outcome) are validated; content fields, which
 * may carry what a caller sent, are never refused for what they hold: `sanitizeAuditEvent` makes
 * them storable (see ./sanitize.ts), so no input can keep a call out of the trail.
 */
const auditEventShape = z.object({
  id: z.uuid(),
  time: z.coerce.date(),
  kind: z.string().min(1).max(64),
  actorType: z.enum(["user", "service_account", "api_token", "system", "anonymous"]),
  actorId: z.string().nullish(),
  actorLabel: z.string().nullish(),
  action: z.string().min(1),
  outcome: z.enum(["allow", "deny", "success", "failure"]),
  targetType: z.string().nullish(),
  targetId: z.string().nullish(),
  portal: z.string().nullish(),
  server: z.string().nullish(),
  tool: z.string().nullish(),
  reasons: z.array(z.string()).nullish(),
  data: z.record(z.string(), z.unknown()).nullish(),
  sourceIp: z.string().nullish(),
  requestId: z.string().nullish(),
});

export type AuditEventInput = z.infer<typeof auditEventShape>;

/**
 * A storable copy of an event: text escaped and cut to its field's length, `data` escaped and
 * truncated by `limits`. Applying it twice changes nothing, so gateway and ingest may both apply it.
 */
export function sanitizeAuditEvent(event: AuditEventInput, limits: JsonLimits = STORED_DATA_LIMITS): AuditEventInput {
  let escaped = 0;
  const text = <T extends string | null | undefined>(value: T, max: number): T => {
    if (typeof value !== "string") return value;
    const result = sanitizeText(value, max);
    escaped += result.escaped;
    return result.text as T;
  };
  const out: AuditEventInput = { ...event, action: text(event.action, TEXT_LIMITS.action) };
  for (const field of ["actorId", "actorLabel", "targetType", "targetId", "portal", "server", "tool", "sourceIp", "requestId"] as const) {
    if (event[field] != null) out[field] = text(event[field], TEXT_LIMITS[field]);
  }
  if (event.reasons) {
    const reasons = event.reasons.length > MAX_REASONS ? [...event.reasons.slice(0, MAX_REASONS - 1), `…[${event.reasons.length - MAX_REASONS + 1} more reasons]`] : event.reasons;
    out.reasons = reasons.map((r) => text(r, MAX_REASON_LENGTH));
  }
  if (event.data) {
    const data = sanitizeJson(event.data, limits);
    escaped += data.escaped;
    out.data = data.value as Record<string, unknown>;
  }
  if (escaped > 0) {
    const before = typeof out.data?.escapedCharacters === "number" ? out.data.escapedCharacters : 0;
    out.data = { ...out.data, escapedCharacters: before + escaped };
  }
  return out;
}

export const auditEventInput = auditEventShape.transform((event) => sanitizeAuditEvent(event));

export const GENESIS_HASH = "0".repeat(64);

/**
 * JSON with object keys sorted at every depth, so the same event always hashes the same. Keys sort
 * by UTF-16 code units (the default sort, the same order as comparing with `<`). It runs once per
 * stored event at ingest and once per verified event, so it avoids per-key closures and copies.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      // What JSON.stringify writes: the shortest round-trip text, -0 as 0, NaN and ±Infinity as null.
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "object":
      break;
    default:
      return JSON.stringify(value ?? null);
  }
  if (value === null) return "null";
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) out += (i === 0 ? "" : ",") + canonicalJson(value[i]);
    return `${out}]`;
  }
  return canonicalObject(value as Record<string, unknown>, Object.keys(value));
}

/** `record` as canonicalJson writes it, from its keys (any order; sorted here in place). */
function canonicalObject(record: Record<string, unknown>, keys: string[]): string {
  if (keys.length > 1) keys.sort();
  let out = "{";
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ",";
    out += JSON.stringify(key) + ":" + canonicalJson(item);
  }
  return `${out}}`;
}

/** sha256 in hex; the one-shot `crypto.hash` where Node has it (20.12+), a Hash object otherwise. */
const sha256Hex: (text: string) => string =
  typeof (nodeCrypto as { hash?: unknown }).hash === "function"
    ? (text) => (nodeCrypto as unknown as { hash: (algorithm: string, data: string, encoding: "hex") => string }).hash("sha256", text, "hex")
    : (text) => createHash("sha256").update(text).digest("hex");

/**
 * The parts of `data` that carry what a caller sent or an upstream answered: what payload
 * retention clears from rows that stay.
 */
export const PAYLOAD_KEYS = ["arguments", "result", "messages", "contents"] as const;

/** What a row keeps of its payload once retention cleared it: the digest its hash covers. */
export const PAYLOAD_DIGEST_KEY = "payloadDigest";

/** sha256 of the payload fields of `data` (canonical JSON), or null when it carries none. */
export function payloadDigest(data: Record<string, unknown> | null | undefined): string | null {
  if (!data) return null;
  // PAYLOAD_KEYS are in code-unit order except "result"/"messages"/"contents": canonicalObject sorts them.
  const keys = PAYLOAD_KEYS.filter((k) => data[k] !== undefined) as string[];
  return keys.length === 0 ? null : sha256Hex(canonicalObject(data, keys));
}

/**
 * `data` as hash version 2 covers it: the payload fields replaced by their digest. A row whose
 * payload retention cleared keeps only that digest, so it hashes as it did when it was written;
 * a row that still holds its payload must match the digest too. Rows without payload fields hash
 * the same in both versions.
 */
export function hashedData(data: Record<string, unknown> | null | undefined): Record<string, unknown> | null {
  if (!data) return null;
  const digest = payloadDigest(data) ?? (typeof data[PAYLOAD_DIGEST_KEY] === "string" ? (data[PAYLOAD_DIGEST_KEY] as string) : null);
  const rest = Object.fromEntries(Object.entries(data).filter(([k]) => k !== PAYLOAD_DIGEST_KEY && !(PAYLOAD_KEYS as readonly string[]).includes(k)));
  return digest === null ? rest : { ...rest, [PAYLOAD_DIGEST_KEY]: digest };
}

/** `data` with its payload cleared by retention: the payload fields gone, their digest kept. */
export function clearPayload(data: Record<string, unknown>): Record<string, unknown> {
  return hashedData(data) ?? {};
}

/**
 * How a row's hash covers `data`: 1 (rows written before payload retention existed) covers the
 * payload itself, so clearing it would break the chain; 2 covers the payload's digest.
 */
export type HashVersion = 1 | 2;
export const CURRENT_HASH_VERSION: HashVersion = 2;

/**
 * The text an event's hash covers after `prevHash` and a newline: the canonical JSON of exactly the
 * contract's fields, so a stored row (with seq, prevHash…) hashes as its input did. It does not
 * depend on the chain, so ingest writes it before taking the chain lock. Built field by field in
 * the fixed key order (the same bytes as canonicalJson of the normalized event; see the test).
 */
export function hashInput(event: AuditEventInput, version: HashVersion = CURRENT_HASH_VERSION): string {
  const { id, time, kind, actorType, action, outcome } = event;
  // A row that is not a parsed event (a damaged file, a hand edit) takes the general path, which
  // writes whatever it holds exactly as the chain has always hashed it.
  if (typeof id !== "string" || typeof kind !== "string" || typeof actorType !== "string" || typeof action !== "string" || typeof outcome !== "string" || !(time instanceof Date)) {
    return canonicalJson(normalizedEvent(event, version));
  }
  const text = (v: unknown) => (v == null ? "null" : typeof v === "string" ? JSON.stringify(v) : canonicalJson(v));
  return (
    `{"action":${JSON.stringify(action)},"actorId":${text(event.actorId)},"actorLabel":${text(event.actorLabel)},` +
    `"actorType":${JSON.stringify(actorType)},"data":${version === 1 ? canonicalJson(event.data ?? null) : hashedDataJson(event.data)},` +
    `"id":${JSON.stringify(id)},"kind":${JSON.stringify(kind)},"outcome":${JSON.stringify(outcome)},` +
    `"portal":${text(event.portal)},"reasons":${canonicalJson(event.reasons ?? null)},"requestId":${text(event.requestId)},` +
    `"server":${text(event.server)},"sourceIp":${text(event.sourceIp)},"targetId":${text(event.targetId)},` +
    `"targetType":${text(event.targetType)},"time":${JSON.stringify(time.toISOString())},"tool":${text(event.tool)}}`
  );
}

/** The event as its hash covers it, as an object: canonicalJson of it is what `hashInput` writes. */
function normalizedEvent(event: AuditEventInput, version: HashVersion) {
  return {
    id: event.id,
    time: event.time.toISOString(),
    kind: event.kind,
    actorType: event.actorType,
    actorId: event.actorId ?? null,
    actorLabel: event.actorLabel ?? null,
    action: event.action,
    outcome: event.outcome,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    portal: event.portal ?? null,
    server: event.server ?? null,
    tool: event.tool ?? null,
    reasons: event.reasons ?? null,
    data: version === 1 ? (event.data ?? null) : hashedData(event.data),
    sourceIp: event.sourceIp ?? null,
    requestId: event.requestId ?? null,
  };
}

/** canonicalJson(hashedData(data)) without building the copy. */
function hashedDataJson(data: Record<string, unknown> | null | undefined): string {
  if (!data) return "null";
  const digest = payloadDigest(data) ?? (typeof data[PAYLOAD_DIGEST_KEY] === "string" ? (data[PAYLOAD_DIGEST_KEY] as string) : null);
  const keys: string[] = [];
  for (const key of Object.keys(data)) if (key !== PAYLOAD_DIGEST_KEY && !(PAYLOAD_KEYS as readonly string[]).includes(key)) keys.push(key);
  if (digest !== null) keys.push(PAYLOAD_DIGEST_KEY);
  if (keys.length > 1) keys.sort();
  let out = "{";
  for (const key of keys) {
    const item = key === PAYLOAD_DIGEST_KEY ? digest : data[key];
    if (item === undefined) continue;
    if (out.length > 1) out += ",";
    out += JSON.stringify(key) + ":" + canonicalJson(item);
  }
  return `${out}}`;
}

/** The hash of an event chained after `prevHash`, over `hashInput(event)` (pass it when already built). */
export function hashAuditEvent(prevHash: string, event: AuditEventInput, version: HashVersion = CURRENT_HASH_VERSION, input = hashInput(event, version)): string {
  return sha256Hex(`${prevHash}\n${input}`);
}

/** Checks a run of stored events in chain order; returns the index of the first broken link. */
export function verifyChain(
  events: Array<AuditEventInput & { prevHash: string; hash: string }>,
  startPrevHash = GENESIS_HASH,
): { ok: true } | { ok: false; index: number; reason: string } {
  let prev = startPrevHash;
  for (const [index, event] of events.entries()) {
    if (event.prevHash !== prev) return { ok: false, index, reason: "previous hash does not match" };
    if (hashAuditEvent(prev, event) !== event.hash) return { ok: false, index, reason: "event content was altered" };
    prev = event.hash;
  }
  return { ok: true };
}

const SECRET_KEYS = /^(secret|secretEnc|password|passwordHash|totpSecretEnc|tokenHash|recoveryCodes|value|clientSecret|token)$/i;

/** Replaces secret-bearing fields with a mask before anything reaches the audit log. */
export function maskSecrets(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(maskSecrets);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>).map(([k, v]) => [
      k,
      SECRET_KEYS.test(k) && v !== null && v !== undefined && v !== "" ? "••••••" : maskSecrets(v),
    ]),
  );
}
