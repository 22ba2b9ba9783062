import { z } from "zod";

/**
 * Revocations: how the end of someone's access reaches gateways that verify tokens offline. Every
 * way access ends (an account disabled, deleted or expired, a secret past its rotation grace, a
 * client disconnected or deleted, a grant revoked) is one entry on the signed config snapshot, and
 * one rule covers them all:
 *
 *   refuse a token that names `id` (as its `kind` of identifier) and was issued before `at`,
 *   once the gateway's clock has reached `at`.
 *
 * A past `at` cuts access at once and lets tokens issued afterwards through (an account disabled,
 * then enabled again, works with new tokens). A future `at` ends access at a known time with no
 * scheduler anywhere (an account's expiry, a rotated secret's grace end). An entry is kept on the
 * snapshot only until the longest-lived token that could name it has expired.
 *
 * Pure and shared: the control plane builds the list, the gateway indexes it once per config
 * version and checks every request against it (one Map get per identifier a token carries).
 */

/**
 * What an entry's `id` is compared with. `subject`: the token's `sub` (a user id). `client`: its
 * `client_id` (a service account's, an OAuth client's). `grant`: the OAuth grant it was issued
 * under (`portico_grant`; a connected client). `token`: its `jti`. `secret`: the service-account
 * secret that minted it (`portico_secret`), so a rotation ends the old secret's tokens only.
 */
export const revocationKinds = ["subject", "client", "grant", "token", "secret"] as const;
export type RevocationKind = (typeof revocationKinds)[number];

/**
 * The reasons a client may be shown (in `WWW-Authenticate`'s `error_description`): short, fixed,
 * never a name, a secret or anything an admin typed.
 */
export const revocationReasons = [
  "service account disabled",
  "service account deleted",
  "service account expired",
  "service account secret replaced",
  "user disabled",
  "user locked",
  "user removed",
  "client disconnected",
  "client deleted",
  "grant revoked",
] as const;
export type RevocationReason = (typeof revocationReasons)[number];

/**
 * An entry as a gateway parses it. Kind and reason are read loosely on purpose: a newer control
 * plane may add a kind (issue 10's step-up grants) or a reason, and an older gateway should skip
 * the entry it cannot apply, not refuse the whole snapshot and keep running an older one that
 * lacks every newer revocation. The control plane only ever writes the typed values below.
 */
export const revocationEntry = z.object({
  kind: z.string().min(1).max(32),
  id: z.string().min(1).max(512),
  at: z.iso.datetime(),
  // Goes into a WWW-Authenticate header as is: plain words only.
  reason: z.string().regex(/^[a-z0-9 ,.()-]{1,100}$/, "A revocation reason is a few plain words"),
});
/** What the control plane writes. */
export type RevocationEntry = { kind: RevocationKind; id: string; at: string; reason: RevocationReason };
/** What a gateway reads: kinds and reasons it may not know. */
export type ParsedRevocationEntry = z.infer<typeof revocationEntry>;

/**
 * How long an entry must stay on the snapshot after its `at`: the longest access token Portico
 * can issue (the settings' upper bound, 60 minutes, not the current setting: a token issued before
 * an admin shortened the lifetime still lives by the old one) plus the gateway's clock tolerance.
 */
export const MAX_ACCESS_TOKEN_MINUTES = 60;
export const REVOCATION_KEEP_MS = MAX_ACCESS_TOKEN_MINUTES * 60_000 + 60_000;

/** Whether an entry still matters at `now`: a token it could refuse may still be alive. */
export const isRevocationLive = (entry: { at: string | Date }, now: number) => new Date(entry.at).getTime() + REVOCATION_KEEP_MS > now;

/** The identifiers of a verified token, as the revocation rule reads them. */
export type RevocableToken = {
  subject: string;
  clientId: string | null;
  grantId: string | null;
  tokenId: string | null;
  secretId: string | null;
  /** `iat`, in seconds; null when the token has none, which makes it older than any entry. */
  issuedAt: number | null;
};

export type RevocationIndex = {
  /** The reason the token is refused at `now` (ms), or null. */
  check(token: RevocableToken, now: number): string | null;
};

type Compiled = { atMs: number; isInForce: boolean; reason: string };

/**
 * Indexes a snapshot's entries by kind and id: built once per config version, off the request path.
 * `asOf` is when the control plane built the list (the snapshot's `createdAt`): an entry already in
 * force then applies at once, whatever the gateway's clock says, so a gateway running behind the
 * control plane's clock does not let a just-revoked token through for the difference.
 */
export function createRevocationIndex(entries: readonly ParsedRevocationEntry[], asOf = Number.NEGATIVE_INFINITY): RevocationIndex {
  const byKind = new Map<string, Map<string, Compiled[]>>(revocationKinds.map((kind) => [kind, new Map()]));
  for (const entry of entries) {
    const atMs = Date.parse(entry.at);
    const ids = byKind.get(entry.kind);
    // A kind this gateway does not know names nothing its tokens carry.
    if (!ids || Number.isNaN(atMs)) continue;
    const compiled = { atMs, isInForce: atMs <= asOf, reason: entry.reason };
    const list = ids.get(entry.id);
    if (list) list.push(compiled);
    else ids.set(entry.id, [compiled]);
  }
  const match = (kind: RevocationKind, id: string | null, issuedMs: number, now: number): string | null => {
    if (id === null) return null;
    const list = byKind.get(kind)!.get(id);
    if (!list) return null;
    for (const entry of list) if ((entry.isInForce || now >= entry.atMs) && issuedMs < entry.atMs) return entry.reason;
    return null;
  };
  return {
    check(token, now) {
      // `iat` has whole seconds: a token issued in the same second as the entry but before it reads
      // as earlier still, so the rule never lets a pre-revocation token through (one issued in that
      // second just after the entry is refused too; its holder gets another a second later).
      const issuedMs = token.issuedAt === null ? Number.NEGATIVE_INFINITY : token.issuedAt * 1000;
      return (
        match("subject", token.subject, issuedMs, now) ??
        match("client", token.clientId, issuedMs, now) ??
        match("grant", token.grantId, issuedMs, now) ??
        match("secret", token.secretId, issuedMs, now) ??
        match("token", token.tokenId, issuedMs, now)
      );
    },
  };
}

/** Sorted and without duplicates, so equal lists make equal snapshots and equal content hashes. */
export function sortRevocations<E extends ParsedRevocationEntry>(entries: E[]): E[] {
  const key = (e: E) => `${e.kind}\u0000${e.id}\u0000${e.at}\u0000${e.reason}`;
  const unique = new Map(entries.map((e) => [key(e), e]));
  return [...unique.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, e]) => e);
}
