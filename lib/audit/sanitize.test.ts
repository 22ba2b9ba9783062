import { describe, expect, it } from "vitest";

import { escapeUnstorable, findUnstorable, isStorableText } from "@/lib/storable-text";

import { GENESIS_HASH, auditEventInput, canonicalJson, hashAuditEvent, sanitizeAuditEvent, type AuditEventInput } from "./event";
import { TRUNCATED_KEY, sanitizeJson } from "./sanitize";

const nested = (depth: number): unknown => {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = { d: value };
  return value;
};

const depthOf = (value: unknown): number => {
  let max = 0;
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    max = Math.max(max, d);
    if (v && typeof v === "object") for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return max;
};

const event = (over: Partial<AuditEventInput>): AuditEventInput => ({
  id: "00000000-0000-4000-8000-000000000001",
  time: new Date("2026-11-02T10:00:00Z"),
  kind: "mcp.request",
  actorType: "user",
  action: "tools/call",
  outcome: "allow",
  ...over,
});

describe("escapeUnstorable", () => {
  it("spells NUL and lone surrogates as the six characters \\uXXXX and keeps paired surrogates", () => {
    expect(escapeUnstorable("a\u0000b")).toEqual({ text: "a\\u0000b", escaped: 1 });
    expect(escapeUnstorable("x\ud800y\udfff")).toEqual({ text: "x\\ud800y\\udfff", escaped: 2 });
    expect(escapeUnstorable("emoji 😀 stays")).toEqual({ text: "emoji 😀 stays", escaped: 0 });
    expect(isStorableText("😀")).toBe(true);
    expect(isStorableText("\ud83d")).toBe(false);
  });

  it("returns clean text itself, not a copy", () => {
    const text = "plain text ".repeat(1000);
    expect(escapeUnstorable(text).text).toBe(text);
  });
});

describe("findUnstorable", () => {
  it("names the path of the first bad string or key, at any depth", () => {
    expect(findUnstorable({ name: "ok", principals: [{ value: "a" }, { value: "b\u0000" }] })).toEqual(["principals", 1, "value"]);
    expect(findUnstorable({ ok: { "k\ud800": 1 } })).toEqual(["ok", "k\\ud800"]);
    expect(findUnstorable({ name: "fine", n: 1, list: [true, null] })).toBeNull();
    expect(findUnstorable(nested(100_000))).toBeNull();
  });
});

describe("sanitizeJson", () => {
  const limits = { maxBytes: 8 * 1024, maxDepth: 32 };

  it("hands back a clean value within the limits untouched", () => {
    const value = { month: "2026-10", services: ["ec2", "s3"], top: 5 };
    const result = sanitizeJson(value, limits);
    expect(result.value).toBe(value);
    expect(result).toMatchObject({ truncated: false, escaped: 0 });
  });

  it("escapes NUL and lone surrogates in values and keys, keeping the structure", () => {
    const result = sanitizeJson({ "k\u0000": ["v\ud800", { deep: "\u0000\u0000" }] }, limits);
    expect(result.value).toEqual({ "k\\u0000": ["v\\ud800", { deep: "\\u0000\\u0000" }] });
    expect(result).toMatchObject({ truncated: false, escaped: 4 });
  });

  it("truncates a huge string with a marker and the original size", () => {
    const result = sanitizeJson({ text: "x".repeat(10_000_000) }, limits);
    expect(result.truncated).toBe(true);
    const stored = result.value as Record<string, { bytes: number }>;
    expect(stored[TRUNCATED_KEY]!.bytes).toBeGreaterThanOrEqual(10_000_000);
    expect(JSON.stringify(result.value).length).toBeLessThan(9 * 1024);
  });

  it("truncates 10,000-deep nesting without overflowing the stack, and records the depth", () => {
    const result = sanitizeJson(nested(10_000), limits);
    expect(result).toMatchObject({ truncated: true, depth: 10_000 });
    expect(depthOf(result.value)).toBeLessThanOrEqual(32);
    expect(() => canonicalJson(result.value)).not.toThrow();
  });

  it("cuts a huge array, saying how many items were left out", () => {
    const result = sanitizeJson(Array.from({ length: 1_000_000 }, (_, i) => i), limits);
    const preview = (result.value as { preview: unknown[] }).preview;
    expect(preview.length).toBeLessThan(2_000);
    expect(preview.at(-1)).toMatch(/^\[\d+ more items\]$/);
  });

  it("cuts an overlong string in place when given maxString, never splitting a surrogate pair", () => {
    const text = "😀".repeat(100);
    const result = sanitizeJson({ clientName: text, latencyMs: 1 }, { ...limits, maxString: 51 });
    const stored = result.value as { clientName: string; latencyMs: number };
    expect(result.truncated).toBe(false);
    expect(stored.latencyMs).toBe(1);
    expect(stored.clientName.length).toBeLessThanOrEqual(51);
    expect(isStorableText(stored.clientName)).toBe(true);
  });

  it("is idempotent: a second pass changes nothing", () => {
    for (const value of [{ a: "\u0000".repeat(5) }, { text: "y".repeat(50_000) }, nested(500), Array.from({ length: 10_000 }, () => "z\ud800")]) {
      const once = sanitizeJson(value, limits).value;
      const twice = sanitizeJson(once, limits);
      expect(twice.value).toBe(once);
    }
  });
});

describe("sanitizeAuditEvent and the schema", () => {
  it("never refuses content: escapes and cuts text fields, counts the escapes in data", () => {
    const raw = event({
      action: "tools/\u0000call",
      targetId: "t".repeat(5_000),
      actorLabel: "\ud800",
      reasons: Array.from({ length: 80 }, () => "r\u0000".repeat(1_000)),
      data: { arguments: { q: "\u0000" } },
    });
    const parsed = auditEventInput.safeParse(raw);
    expect(parsed.success).toBe(true);
    const stored = parsed.data!;
    expect(stored.action).toBe("tools/\\u0000call");
    expect(stored.actorLabel).toBe("\\ud800");
    expect(stored.targetId!.length).toBeLessThanOrEqual(200);
    expect(stored.reasons!.length).toBe(50);
    expect(stored.reasons!.every((r) => r.length <= 1000 && isStorableText(r))).toBe(true);
    expect(stored.data).toMatchObject({ arguments: { q: "\\u0000" } });
    expect(stored.data!.escapedCharacters).toBeGreaterThan(2);
    expect(findUnstorable(stored)).toBeNull();
  });

  it("still refuses a broken structure: id, time, kind", () => {
    expect(auditEventInput.safeParse(event({ id: "nope" })).success).toBe(false);
    expect(auditEventInput.safeParse({ ...event({}), time: "not a date" }).success).toBe(false);
    expect(auditEventInput.safeParse(event({ kind: "" })).success).toBe(false);
  });

  it("hashes the same after a second pass, so the chain verifies what is stored", () => {
    const once = sanitizeAuditEvent(event({ data: { arguments: nested(5_000), name: "a\u0000" } }));
    const twice = auditEventInput.parse(once);
    expect(hashAuditEvent(GENESIS_HASH, twice)).toBe(hashAuditEvent(GENESIS_HASH, once));
  });
});
