import { describe, expect, it } from "vitest";
import { GENESIS_HASH, canonicalJson, clearPayload, hashAuditEvent, maskSecrets, verifyChain, type AuditEventInput } from "./event";

const base = (n: number): AuditEventInput => ({
  id: `00000000-0000-4000-8000-00000000000${n}`,
  time: new Date(Date.UTC(2026, 0, 1, 0, 0, n)),
  kind: "config.change",
  actorType: "user",
  actorId: "u1",
  action: "server.update",
  outcome: "success",
  data: { after: { name: `n${n}` } },
});

function chain(events: AuditEventInput[]) {
  let prev = GENESIS_HASH;
  return events.map((e) => {
    const hash = hashAuditEvent(prev, e);
    const stored = { ...e, prevHash: prev, hash };
    prev = hash;
    return stored;
  });
}

describe("audit hash chain", () => {
  it("accepts an untouched chain", () => {
    expect(verifyChain(chain([base(1), base(2), base(3)]))).toEqual({ ok: true });
  });

  it("finds an edited event", () => {
    const stored = chain([base(1), base(2), base(3)]);
    stored[1] = { ...stored[1]!, outcome: "failure" };
    expect(verifyChain(stored)).toMatchObject({ ok: false, index: 1, reason: "event content was altered" });
  });

  it("finds a deleted event", () => {
    const stored = chain([base(1), base(2), base(3)]);
    stored.splice(1, 1);
    expect(verifyChain(stored)).toMatchObject({ ok: false, index: 1, reason: "previous hash does not match" });
  });

  it("hashes independently of key order", () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it("writes what stored chains were hashed with: code-unit key order, undefined left out, nulls and dates as JSON", () => {
    // Chains already stored were hashed with this exact text; a faster canonicalJson must not move a byte.
    const value = { "é": 1, Z: 2, a: undefined, "10": [1, undefined, { y: null, x: "\u2028\"" }], "9": new Date("2026-01-02T03:04:05.678Z"), "😀": true, _: -0.5 };
    expect(canonicalJson(value)).toBe('{"10":[1,null,{"x":"\u2028\\"","y":null}],"9":"2026-01-02T03:04:05.678Z","Z":2,"_":-0.5,"é":1,"😀":true}');
    const event = { id: "00000000-0000-4000-8000-000000000001", time: new Date("2026-12-07T10:00:00Z"), kind: "mcp.request", actorType: "user" as const, action: "tools/call", outcome: "allow" as const, data: { b: [1, { d: 1, c: 2 }], a: "x" } };
    expect(hashAuditEvent(GENESIS_HASH, event)).toBe("9943d26e024908dd093f108f14ececc027d01abeb175c02d6295423c5b7828b5");
  });
});

describe("maskSecrets", () => {
  it("masks secret fields at any depth and keeps the rest", () => {
    expect(maskSecrets({ name: "x", credential: { headerName: "Authorization", value: "Bearer abc" }, secretEnc: "v1.." })).toEqual({
      name: "x",
      credential: { headerName: "Authorization", value: "••••••" },
      secretEnc: "••••••",
    });
  });
});

describe("hash version 2: the hash covers the payload's digest", () => {
  const withPayload = { ...base(7), data: { sessionId: "s-1", arguments: { month: "2026-05" }, result: { ok: true } } };

  it("hashes a row with its payload cleared exactly as the full row", async () => {
    const hash = hashAuditEvent;
    const full = hash(GENESIS_HASH, withPayload);
    const cleared = clearPayload(withPayload.data);
    expect(cleared).toEqual({ sessionId: "s-1", payloadDigest: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(hash(GENESIS_HASH, { ...withPayload, data: cleared })).toBe(full);
  });

  it("still catches an edited payload, an edited digest, and an edited field beside them", async () => {
    const hash = hashAuditEvent;
    const full = hash(GENESIS_HASH, withPayload);
    expect(hash(GENESIS_HASH, { ...withPayload, data: { ...withPayload.data, arguments: { month: "2026-06" } } })).not.toBe(full);
    const cleared = clearPayload(withPayload.data);
    expect(hash(GENESIS_HASH, { ...withPayload, data: { ...cleared, payloadDigest: "0".repeat(64) } })).not.toBe(full);
    expect(hash(GENESIS_HASH, { ...withPayload, data: { ...cleared, sessionId: "s-2" } })).not.toBe(full);
  });

  it("hashes rows without a payload the same in both versions, and rows with one differently", async () => {
    const hash = hashAuditEvent;
    const plain = { ...base(8), data: { before: { a: 1 }, after: { a: 2 } } };
    expect(hash(GENESIS_HASH, plain, 1)).toBe(hash(GENESIS_HASH, plain, 2));
    expect(hash(GENESIS_HASH, withPayload, 1)).not.toBe(hash(GENESIS_HASH, withPayload, 2));
  });
});
