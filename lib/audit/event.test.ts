import { describe, expect, it } from "vitest";
import { GENESIS_HASH, canonicalJson, hashAuditEvent, maskSecrets, verifyChain, type AuditEventInput } from "./event";

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
