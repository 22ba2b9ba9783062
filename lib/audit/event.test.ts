import { describe, expect, it } from "vitest";
import { GENESIS_HASH, canonicalJson, clearPayload, hashAuditEvent, hashInput, maskSecrets, verifyChain, type AuditEventInput } from "./event";

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

describe("hash input built field by field", () => {
  // Hashes written by the object-building hashAuditEvent every stored chain was made with (before
  // hashInput): payload and digest keys, integer-like keys, undefined, NaN, -0, 1e21, escapes.
  const cases = [
    { id: "00000000-0000-4000-8000-000000000001", time: new Date("2026-12-07T10:00:00.123Z"), kind: "mcp.request", actorType: "user", actorId: 'u"1', actorLabel: "a@b", action: "tools/call", outcome: "allow", targetType: "tool", targetId: "s/t", portal: "p", server: "s", tool: "t", reasons: ["x", "é\u2028"], sourceIp: "10.0.0.1", requestId: "r1",
      data: { z: 1, arguments: { b: [1, { d: -0, c: 1e21 }], a: "x" }, result: { ok: true }, messages: [], contents: null, "10": "n", "9": undefined, latencyMs: 12.345 } },
    { id: "00000000-0000-4000-8000-000000000002", time: new Date("2026-12-07T10:00:01Z"), kind: "mcp.request", actorType: "service_account", action: "tools/call", outcome: "deny", data: { sessionId: "s", payloadDigest: "ab".repeat(32) } },
    { id: "00000000-0000-4000-8000-000000000003", time: new Date("2026-12-07T10:00:02Z"), kind: "config.change", actorType: "system", action: "x", outcome: "success", data: { payloadDigest: 5, before: { a: 1 } }, reasons: null, actorId: null },
    { id: "00000000-0000-4000-8000-000000000004", time: new Date("2026-12-07T10:00:03Z"), kind: "k", actorType: "user", action: "a", outcome: "failure", data: null },
    { id: "00000000-0000-4000-8000-000000000005", time: new Date("2026-12-07T10:00:04Z"), kind: "k", actorType: "user", action: "a", outcome: "failure", data: { result: undefined, arguments: { x: NaN, y: Infinity } } },
  ] as AuditEventInput[];
  const stored = {
    1: ["0fa18cda22394aa21fe6d00ffd1703876790c544ce7239be73e0cee37bcbaad6", "4e2220f7b107e7d092c9728ff0c320abfa7b045c8117c3c9260b1316010247e9", "13069647f7ae71f6ed4f80d70510af4ac45321156ad8731d4b97b19795049ef8", "1ea4f423448c915dc97b9a9f1e0e24ff38de144f072f699b33f031a0ffb33871", "1c450705990d20f727565056036f4d6636c6293835fbeb84d97749f7300b558f"],
    2: ["fc153716969ad325c23cd5ba03ee0906f51cdba471a462448eec08d1adb573e6", "ddfba451d8334e37ff0cfaf19048efee8480b220eeb749762cc48a4e97c09091", "ea8a1b1721c8a841230fd3c4427d9f95fceddf45196674ef17d7426eb5343689", "4d201721cc8f03aa32707dd24c69e1714533d235cf137fad671003dff29697b4", "5e000e17792f689038ac856d44d43c8482d30fd0a42ec53711ff4550e8d5d488"],
  };

  it("hashes every version exactly as stored chains were hashed", () => {
    for (const version of [1, 2] as const) {
      let prev = GENESIS_HASH;
      expect(cases.map((e) => (prev = hashAuditEvent(prev, e, version))), `version ${version}`).toEqual(stored[version]);
    }
  });

  it("writes the canonical JSON of the normalized event, also for a row that is not a parsed event", () => {
    const damaged = { ...cases[3]!, action: undefined, actorId: { b: 1, a: 2 } } as unknown as AuditEventInput;
    for (const e of [...cases, damaged]) {
      const { id, time, kind, actorType, actorId, actorLabel, action, outcome, targetType, targetId, portal, server, tool, reasons, sourceIp, requestId } = e;
      const normalized = { id, time: time.toISOString(), kind, actorType, actorId: actorId ?? null, actorLabel: actorLabel ?? null, action, outcome, targetType: targetType ?? null, targetId: targetId ?? null,
        portal: portal ?? null, server: server ?? null, tool: tool ?? null, reasons: reasons ?? null, data: e.data ?? null, sourceIp: sourceIp ?? null, requestId: requestId ?? null };
      expect(hashInput(e, 1)).toBe(canonicalJson(normalized));
    }
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
