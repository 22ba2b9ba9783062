import { randomBytes } from "node:crypto";

import { describe, expect, it } from "vitest";

import { createNonceLog, createRequestStateSeal, deriveRequestStateKey } from "./request-state";

const state = { k: "m" as const, s: "service_account:sa_1", p: "finops", t: "tools/call:x", v: "conf2", u: "v1.upstream-state", e: Date.now() + 60_000 };

describe("request-state seal", () => {
  const credentialKey = randomBytes(32);
  const seal = createRequestStateSeal(deriveRequestStateKey(credentialKey));

  it("opens what a gateway with the same credential key sealed, and hides its content", () => {
    const token = seal.seal(state);
    expect(createRequestStateSeal(deriveRequestStateKey(credentialKey)).open(token)).toMatchObject(state);
    expect(Buffer.from(token.slice(4), "base64url").toString("latin1")).not.toContain("sa_1");
    expect(seal.seal(state)).not.toBe(token);
  });

  it.each([
    ["another fleet's key", (t: string) => createRequestStateSeal(deriveRequestStateKey(randomBytes(32))).open(t)],
    ["one altered byte", (t: string) => seal.open(t.slice(0, 20) + (t[20] === "A" ? "B" : "A") + t.slice(21))],
    ["a cut token", (t: string) => seal.open(t.slice(0, 30))],
    ["another prefix", (t: string) => seal.open(`ps2.${t.slice(4)}`)],
    ["not a string", () => seal.open(42)],
  ])("refuses %s", (_, open) => {
    expect(open(seal.seal(state))).toBeNull();
  });

  it("keeps the credential key itself out of reach: the derived key differs", () => {
    expect(deriveRequestStateKey(credentialKey).equals(credentialKey)).toBe(false);
  });
});

describe("nonce log", () => {
  it("accepts a nonce once, forgets it after its expiry, and stays within its bound", () => {
    const log = createNonceLog(3);
    const now = 1_000;
    expect(log.use("a", now + 10, now)).toBe(true);
    expect(log.use("a", now + 10, now)).toBe(false);
    expect(log.use("b", now + 100, now + 20)).toBe(true);
    expect(log.size()).toBe(1);
    for (const n of ["c", "d", "e"]) log.use(n, now + 100, now + 20);
    expect(log.size()).toBeLessThanOrEqual(3);
  });
});
