import { createHash } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "@/lib/audit/event";

/**
 * Elevated grants as gateways see them: the active grants, on the signed config snapshot. A
 * gateway verifies tokens offline, so this list is what makes a revoked or ended grant stop
 * working within a second, not at its token's expiry: an elevated scope counts only while the
 * grant it was issued for (`portico_elevation`) is on the list and before its `endsAt`.
 *
 * Read loosely (like revocations): a risk class or kind a gateway does not know is skipped by the
 * index, never a reason to refuse the snapshot.
 */
export const snapshotElevatedGrant = z.object({
  id: z.string().min(1).max(64),
  /** user | service_account */
  principalKind: z.string().min(1).max(32),
  /** The token's `sub`: the user id, or the service account's client id. */
  subject: z.string().min(1).max(512),
  portalSlug: z.string().min(1).max(64),
  riskClass: z.string().min(1).max(32),
  /** Per call: only a call of this server and tool whose arguments hash to this, once. */
  serverSlug: z.string().min(1).nullable(),
  toolName: z.string().min(1).nullable(),
  argumentsHash: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
  endsAt: z.iso.datetime(),
});
export type SnapshotElevatedGrant = z.infer<typeof snapshotElevatedGrant>;

/** The token claim naming the grant an elevated access token was issued under. */
export const ELEVATION_CLAIM = "portico_elevation";

/** What binds a per-call grant to its call: sha256 of the arguments' canonical JSON. */
export function argumentsHash(args: Record<string, unknown> | undefined | null): string {
  return createHash("sha256")
    .update(canonicalJson(args ?? {}))
    .digest("hex");
}

export type GrantMatch = { grantId: string; isPerCall: boolean };

/**
 * A grant that no longer counts, as a step-up denial names it: `endsAt` when the snapshot still
 * lists it past its end, `isUsed` for a per-call grant a call used up, neither when it has left the
 * snapshot (the list carries active grants only, so expired and revoked look the same there).
 */
export type EndedGrant = { id: string; endsAt: string | null; isUsed: boolean };

export type GrantIndex = {
  /** Whether window grant `id` is active at `now` for this subject, portal and risk class. */
  isActive(id: string, subject: string, portal: string, riskClass: string, now: number): boolean;
  /**
   * An active grant this principal holds for the call, without any elevated token: a window grant
   * for the risk class, or a per-call grant for exactly this tool and these arguments, not used yet.
   */
  find(call: { subject: string; kind: string; portal: string; riskClass: string; server: string; tool: string; arguments?: Record<string, unknown> }, now: number): GrantMatch | null;
  /** A per-call grant is good once: the gateway forgets it as soon as a call used it. */
  consume(id: string): void;
  /**
   * For a step-up denial only (it scans): the grant that no longer counts for this call. With `id`
   * (the grant an elevated token names), that grant unless it is active or another principal's
   * or class's; without, the principal's latest grant for the risk class (and, per call, this
   * tool) that ended or was used while the snapshot still lists it. Null when there is none.
   */
  ended(call: { id: string | null; subject: string; kind: string; portal: string; riskClass: string; server: string; tool: string }, now: number): EndedGrant | null;
};

type Compiled = SnapshotElevatedGrant & { endsMs: number };

/**
 * Indexes the snapshot's grants by principal and portal: built once per config version. `used`
 * carries per-call grants consumed under the previous version, so a new snapshot published before
 * the control plane has heard of the use cannot make one good again.
 */
export function createGrantIndex(grants: readonly SnapshotElevatedGrant[], usedBefore?: ReadonlySet<string>): GrantIndex & { used: Set<string> } {
  const byId = new Map<string, Compiled>();
  const byPrincipal = new Map<string, Compiled[]>();
  for (const grant of grants) {
    const endsMs = Date.parse(grant.endsAt);
    if (Number.isNaN(endsMs)) continue;
    const compiled = { ...grant, endsMs };
    byId.set(grant.id, compiled);
    const key = `${grant.principalKind}\u0000${grant.subject}\u0000${grant.portalSlug}`;
    const list = byPrincipal.get(key);
    if (list) list.push(compiled);
    else byPrincipal.set(key, [compiled]);
  }
  // Only grants still on the list: the set stays as small as the list.
  const used = new Set([...(usedBefore ?? [])].filter((id) => byId.has(id)));
  return {
    used,
    isActive(id, subject, portal, riskClass, now) {
      const grant = byId.get(id);
      // A per-call grant is bound to its arguments: only find() can match it, never a token's claim.
      return !!grant && grant.argumentsHash === null && grant.subject === subject && grant.portalSlug === portal && grant.riskClass === riskClass && now < grant.endsMs && !used.has(id);
    },
    find(call, now) {
      const list = byPrincipal.get(`${call.kind}\u0000${call.subject}\u0000${call.portal}`);
      if (!list) return null;
      let hash: string | null = null;
      for (const grant of list) {
        if (grant.riskClass !== call.riskClass || now >= grant.endsMs || used.has(grant.id)) continue;
        if (grant.argumentsHash === null) return { grantId: grant.id, isPerCall: false };
        if (grant.serverSlug !== call.server || grant.toolName !== call.tool) continue;
        hash ??= argumentsHash(call.arguments);
        if (grant.argumentsHash === hash) return { grantId: grant.id, isPerCall: true };
      }
      return null;
    },
    consume(id) {
      used.add(id);
    },
    ended(call, now) {
      const lapsed = (grant: Compiled): EndedGrant | null =>
        now >= grant.endsMs ? { id: grant.id, endsAt: grant.endsAt, isUsed: false } : used.has(grant.id) ? { id: grant.id, endsAt: null, isUsed: true } : null;
      if (call.id !== null) {
        const grant = byId.get(call.id);
        if (!grant) return { id: call.id, endsAt: null, isUsed: false };
        return grant.subject === call.subject && grant.portalSlug === call.portal && grant.riskClass === call.riskClass ? lapsed(grant) : null;
      }
      let latest: Compiled | null = null;
      for (const grant of byPrincipal.get(`${call.kind}\u0000${call.subject}\u0000${call.portal}`) ?? []) {
        if (grant.riskClass !== call.riskClass || !lapsed(grant)) continue;
        if (grant.argumentsHash !== null && (grant.serverSlug !== call.server || grant.toolName !== call.tool)) continue;
        if (!latest || grant.endsMs > latest.endsMs) latest = grant;
      }
      return latest && lapsed(latest);
    },
  };
}
