import { generateKeyPairSync } from "node:crypto";
import { CompactSign, createLocalJWKSet, exportJWK, type JWK } from "jose";
import { describe, expect, it } from "vitest";
import { SnapshotVerificationError, signSnapshot, verifySnapshot, type SnapshotKeySource } from "./signing";
import type { ConfigSnapshot } from "./snapshot";

const sampleSnapshot = (): ConfigSnapshot => ({
  version: 3,
  createdAt: "2026-01-02T03:04:05.000Z",
  issuer: "http://localhost:3000",
  revocations: [],
  portals: [
    {
      slug: "finops",
      name: "FinOps",
      allowlistMode: true,
      servers: [
        {
          slug: "billing",
          name: "Billing",
          url: "https://billing.example/mcp",
          transport: "sse",
          credential: { kind: "reference", headerName: "X-Api-Key", ref: "env:BILLING_KEY" },
          tools: [{ name: "get_costs", exposedName: "billing_get_costs", title: "Costs", description: "Costs", inputSchema: { type: "object" }, annotations: { readOnlyHint: true }, riskClass: "read", definitionHash: "b".repeat(64) }],
        },
      ],
    },
  ],
  roles: [
    {
      slug: "analysts",
      name: "Analysts",
      principals: [{ kind: "user", value: "alice@example.com" }],
      grants: [{ portalSlug: "finops", serverSlug: "billing", toolName: "get_costs", riskClasses: ["read"] }],
      stepUpRiskClasses: [],
      conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: "08:00", end: "18:00", timeZone: "Europe/Paris" }], networks: [], mfaRequired: false, maxLookbackDays: null },
    },
  ],
});

const pair = generateKeyPairSync("ed25519");
const other = generateKeyPairSync("ed25519");
const publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "EdDSA", use: "sig" } as JWK;
const jwks = { keys: [publicJwk] };
const b64 = (value: unknown) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SnapshotVerificationError);
    return (error as SnapshotVerificationError).code;
  }
  throw new Error("expected verification to fail");
}

describe("signSnapshot / verifySnapshot", () => {
  it("round-trips with a JWKS, a resolver, and a private JWK", async () => {
    const snapshot = sampleSnapshot();
    const jws = await signSnapshot(snapshot, pair.privateKey, "k1");
    const [header] = jws.split(".");
    expect(JSON.parse(Buffer.from(header!, "base64url").toString())).toEqual({ alg: "EdDSA", kid: "k1", typ: "portico-config+jws" });
    expect(await verifySnapshot(jws, jwks)).toEqual(snapshot);
    const resolver: SnapshotKeySource = ({ kid }) => (kid === "k1" ? pair.publicKey : null);
    expect(await verifySnapshot(jws, resolver)).toEqual(snapshot);
    // The gateway's resolver shape (jose's): header in, key out.
    expect(await verifySnapshot(jws, createLocalJWKSet(jwks))).toEqual(snapshot);
    const fromJwk = await signSnapshot(snapshot, (await exportJWK(pair.privateKey)) as JWK, "k1");
    expect(fromJwk).toBe(jws);
  });

  it("refuses a tampered payload", async () => {
    const jws = await signSnapshot(sampleSnapshot(), pair.privateKey, "k1");
    const [h, , s] = jws.split(".");
    const forged = sampleSnapshot();
    forged.portals[0]!.servers[0]!.url = "https://evil.example/mcp";
    expect(await codeOf(verifySnapshot(`${h}.${b64(forged)}.${s}`, jwks))).toBe("bad_signature");
  });

  it("refuses a signature by another key under a known kid", async () => {
    const jws = await signSnapshot(sampleSnapshot(), other.privateKey, "k1");
    expect(await codeOf(verifySnapshot(jws, jwks))).toBe("bad_signature");
  });

  it("refuses an unknown kid, from a JWKS or a resolver", async () => {
    const jws = await signSnapshot(sampleSnapshot(), pair.privateKey, "k2");
    expect(await codeOf(verifySnapshot(jws, jwks))).toBe("unknown_kid");
    expect(await codeOf(verifySnapshot(jws, () => undefined))).toBe("unknown_kid");
  });

  it("refuses alg none and other algorithms before looking up a key", async () => {
    let looked = false;
    const resolver: SnapshotKeySource = () => {
      looked = true;
      return pair.publicKey;
    };
    const none = `${b64({ alg: "none", kid: "k1", typ: "portico-config+jws" })}.${b64(sampleSnapshot())}.`;
    expect(await codeOf(verifySnapshot(none, resolver))).toBe("unsupported_alg");
    const hs = `${b64({ alg: "HS256", kid: "k1", typ: "portico-config+jws" })}.${b64(sampleSnapshot())}.c2ln`;
    expect(await codeOf(verifySnapshot(hs, resolver))).toBe("unsupported_alg");
    expect(looked).toBe(false);
  });

  it("refuses a JWS of another type signed by the same key", async () => {
    const jwt = await new CompactSign(new TextEncoder().encode(JSON.stringify(sampleSnapshot())))
      .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "JWT" })
      .sign(pair.privateKey);
    expect(await codeOf(verifySnapshot(jwt, jwks))).toBe("wrong_typ");
  });

  it("refuses a schema-invalid payload even when properly signed", async () => {
    const bad = { ...sampleSnapshot(), portals: [{ slug: "finops" }] };
    const jws = await new CompactSign(new TextEncoder().encode(JSON.stringify(bad)))
      .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "portico-config+jws" })
      .sign(pair.privateKey);
    expect(await codeOf(verifySnapshot(jws, jwks))).toBe("schema_invalid");
    const notJson = await new CompactSign(new TextEncoder().encode("not json"))
      .setProtectedHeader({ alg: "EdDSA", kid: "k1", typ: "portico-config+jws" })
      .sign(pair.privateKey);
    expect(await codeOf(verifySnapshot(notJson, jwks))).toBe("schema_invalid");
  });

  it("refuses to sign an invalid snapshot and rejects malformed input", async () => {
    await expect(signSnapshot({ ...sampleSnapshot(), version: -1 }, pair.privateKey, "k1")).rejects.toThrow();
    expect(await codeOf(verifySnapshot("a.b", jwks))).toBe("malformed");
    expect(await codeOf(verifySnapshot("!!!.b.c", jwks))).toBe("malformed");
  });
});
