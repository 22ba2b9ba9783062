import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { deriveGatewayCredentialKey, openSealedCredential, sealCredential, SealedCredentialError } from "./sealed-credential";

const secretKey = randomBytes(32).toString("base64");
const key = deriveGatewayCredentialKey(secretKey);

describe("sealed gateway credentials", () => {
  it("round-trips, with a fresh IV each time and nothing in clear", () => {
    const a = sealCredential("Bearer sk-live-123", key);
    const b = sealCredential("Bearer sk-live-123", key);
    expect(a).toMatch(/^g1\./);
    expect(a).not.toBe(b);
    expect(a).not.toContain("sk-live");
    expect(openSealedCredential(a, key)).toBe("Bearer sk-live-123");
    expect(openSealedCredential(b, key)).toBe("Bearer sk-live-123");
  });

  it("derives a key distinct from the master key, the same on both planes", () => {
    expect(deriveGatewayCredentialKey(secretKey).equals(key)).toBe(true);
    expect(key.equals(Buffer.from(secretKey, "base64"))).toBe(false);
    expect(() => deriveGatewayCredentialKey(randomBytes(16))).toThrow(SealedCredentialError);
  });

  it.each([
    ["another key", (s: string) => s, deriveGatewayCredentialKey(randomBytes(32))],
    ["an altered ciphertext", (s: string) => s.slice(0, -2) + (s.endsWith("A") ? "B" : "A") + s.slice(-1), key],
    ["a truncated tag", (s: string) => s.split(".").map((p, i) => (i === 2 ? p.slice(0, 6) : p)).join("."), key],
    ["the at-rest format", (s: string) => s.replace(/^g1\./, "v1."), key],
    ["garbage", () => "nope", key],
  ])("refuses %s without echoing it", (_what, alter, k) => {
    const sealed = alter(sealCredential("Bearer sk-live-123", key));
    expect(() => openSealedCredential(sealed, k)).toThrow(SealedCredentialError);
    try {
      openSealedCredential(sealed, k);
    } catch (error) {
      expect((error as Error).message).not.toContain(sealed);
    }
  });
});
