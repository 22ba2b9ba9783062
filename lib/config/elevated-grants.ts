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
  };
}
