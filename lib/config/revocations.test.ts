import { describe, expect, it } from "vitest";
import { configSnapshot } from "./snapshot";
import { createRevocationIndex, isRevocationLive, REVOCATION_KEEP_MS, revocationEntry, revocationReasons, sortRevocations, type RevocableToken, type RevocationEntry } from "./revocations";

const T = Date.parse("2026-12-07T10:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();
const sec = (ms: number) => Math.floor(ms / 1000);

const token = (overrides: Partial<RevocableToken> = {}): RevocableToken => ({
  subject: "user-1",
  clientId: "pc_client",
  grantId: "grant-1",
  tokenId: "jti-1",
  secretId: null,
  issuedAt: sec(T - 60_000),
  ...overrides,
});

describe("the revocation rule: refuse a token naming the id, issued before `at`, once now >= `at`", () => {
  const cases: Array<{ name: string; entry: RevocationEntry; token: RevocableToken; now: number; refused: string | null }> = [
    { name: "user disabled after the token was issued", entry: { kind: "subject", id: "user-1", at: iso(T), reason: "user disabled" }, token: token(), now: T + 1, refused: "user disabled" },
    { name: "token issued after the entry (re-enabled, signed in again)", entry: { kind: "subject", id: "user-1", at: iso(T), reason: "user disabled" }, token: token({ issuedAt: sec(T) + 2 }), now: T + 5_000, refused: null },
    { name: "token issued in the same second, before the entry", entry: { kind: "subject", id: "user-1", at: iso(T + 500), reason: "user disabled" }, token: token({ issuedAt: sec(T) }), now: T + 600, refused: "user disabled" },
    { name: "another subject", entry: { kind: "subject", id: "user-2", at: iso(T), reason: "user disabled" }, token: token(), now: T + 1, refused: null },
    { name: "a future `at` (expiry) before it comes", entry: { kind: "secret", id: "sec-1", at: iso(T + 3_600_000), reason: "service account expired" }, token: token({ secretId: "sec-1" }), now: T + 10_000, refused: null },
    { name: "a future `at` (expiry) once it has come", entry: { kind: "secret", id: "sec-1", at: iso(T + 3_600_000), reason: "service account expired" }, token: token({ secretId: "sec-1" }), now: T + 3_600_000, refused: "service account expired" },
    { name: "a rotated secret's entry spares the new secret's tokens", entry: { kind: "secret", id: "sec-old", at: iso(T), reason: "service account secret replaced" }, token: token({ secretId: "sec-new" }), now: T + 1, refused: null },
    { name: "client deleted", entry: { kind: "client", id: "pc_client", at: iso(T), reason: "client deleted" }, token: token(), now: T + 1, refused: "client deleted" },
    { name: "grant (connected client) revoked", entry: { kind: "grant", id: "grant-1", at: iso(T), reason: "client disconnected" }, token: token(), now: T, refused: "client disconnected" },
    { name: "one token by jti", entry: { kind: "token", id: "jti-1", at: iso(T), reason: "grant revoked" }, token: token(), now: T + 1, refused: "grant revoked" },
    { name: "a token without the identifier the entry names", entry: { kind: "grant", id: "grant-1", at: iso(T), reason: "client disconnected" }, token: token({ grantId: null }), now: T + 1, refused: null },
    { name: "a token without iat counts as older than any entry", entry: { kind: "client", id: "pc_client", at: iso(T), reason: "client deleted" }, token: token({ issuedAt: null }), now: T + 1, refused: "client deleted" },
    { name: "ids of one kind never match another kind", entry: { kind: "client", id: "user-1", at: iso(T), reason: "client deleted" }, token: token(), now: T + 1, refused: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(createRevocationIndex([c.entry]).check(c.token, c.now)).toBe(c.refused);
    });
  }

  it("applies an entry in force when the list was built even if the gateway's clock runs behind", () => {
    const entry: RevocationEntry = { kind: "subject", id: "user-1", at: iso(T), reason: "user disabled" };
    const gatewayBehind = T - 3_000;
    expect(createRevocationIndex([entry]).check(token(), gatewayBehind)).toBeNull();
    expect(createRevocationIndex([entry], T + 50).check(token(), gatewayBehind)).toBe("user disabled");
    // A future entry still waits for its time.
    const future: RevocationEntry = { kind: "subject", id: "user-1", at: iso(T + 60_000), reason: "user disabled" };
    expect(createRevocationIndex([future], T + 50).check(token(), T + 1_000)).toBeNull();
  });

  it("checks every entry for one id: a past disable and a future expiry", () => {
    const index = createRevocationIndex([
      { kind: "client", id: "sa_1", at: iso(T + 86_400_000), reason: "service account expired" },
      { kind: "client", id: "sa_1", at: iso(T), reason: "service account disabled" },
    ]);
    expect(index.check(token({ clientId: "sa_1" }), T + 1)).toBe("service account disabled");
    expect(index.check(token({ clientId: "sa_1", issuedAt: sec(T) + 1 }), T + 5_000)).toBeNull();
  });
});

describe("keeping entries", () => {
  it("keeps an entry until the longest-lived token issued before it has expired", () => {
    expect(REVOCATION_KEEP_MS).toBeGreaterThanOrEqual(60 * 60_000);
    expect(isRevocationLive({ at: iso(T) }, T + REVOCATION_KEEP_MS - 1)).toBe(true);
    expect(isRevocationLive({ at: iso(T) }, T + REVOCATION_KEEP_MS)).toBe(false);
    expect(isRevocationLive({ at: iso(T + 86_400_000) }, T)).toBe(true);
  });

  it("sorts and removes duplicates, so equal lists make equal snapshots", () => {
    const a: RevocationEntry = { kind: "subject", id: "u2", at: iso(T), reason: "user disabled" };
    const b: RevocationEntry = { kind: "client", id: "c1", at: iso(T), reason: "client deleted" };
    expect(sortRevocations([a, b, a])).toEqual([b, a]);
  });

  it("parses a snapshot signed before revocations existed as having none", () => {
    const parsed = configSnapshot.parse({ version: 1, createdAt: iso(T), issuer: "http://localhost:3000", portals: [], roles: [] });
    expect(parsed.revocations).toEqual([]);
  });

  it("refuses a reason a header cannot carry as plain words", () => {
    const withReason = (reason: string) => ({ version: 1, createdAt: iso(T), issuer: "http://localhost:3000", portals: [], roles: [], revocations: [{ kind: "subject", id: "u", at: iso(T), reason }] });
    expect(configSnapshot.safeParse(withReason('disabled", error="x')).success).toBe(false);
    expect(configSnapshot.safeParse(withReason("line\r\nbreak")).success).toBe(false);
    expect(configSnapshot.safeParse(withReason("x".repeat(101))).success).toBe(false);
    expect(configSnapshot.safeParse(withReason("user disabled")).success).toBe(true);
  });

  it("skips an entry of a kind it does not know (from a newer control plane) and applies the rest", () => {
    const parsed = configSnapshot.parse({
      version: 1,
      createdAt: iso(T),
      issuer: "http://localhost:3000",
      portals: [],
      roles: [],
      revocations: [
        { kind: "elevation", id: "user-1", at: iso(T), reason: "step-up grant revoked" },
        { kind: "subject", id: "user-1", at: iso(T), reason: "user disabled" },
      ],
    });
    const index = createRevocationIndex(parsed.revocations);
    expect(index.check(token(), T + 1)).toBe("user disabled");
    expect(createRevocationIndex(parsed.revocations.slice(0, 1)).check(token(), T + 1)).toBeNull();
  });

  it("every reason the control plane writes passes the gateway's check", () => {
    for (const reason of revocationReasons) expect(revocationEntry.safeParse({ kind: "subject", id: "u", at: iso(T), reason }).success, reason).toBe(true);
  });
});
