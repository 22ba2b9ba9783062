import type { BadgeVariant } from "@/components/ui/badge";
import type { ServiceAccountStatus } from "@/lib/schemas/service-account";

// Plain module (no "use client"): the server page reads the list params from here too, so the
// first paint and the client query agree on the same query key.

export const SERVICE_ACCOUNTS_PAGE_SIZE = 50;

export type ServiceAccountListParams = { q?: string; cursor?: string; limit: number };

export function serviceAccountListParams(query: Record<string, string | string[] | undefined>): ServiceAccountListParams {
  const one = (v: string | string[] | undefined) => (typeof v === "string" && v !== "" ? v : undefined);
  return { q: one(query.q), cursor: one(query.cursor), limit: SERVICE_ACCOUNTS_PAGE_SIZE };
}

export const STATUS_META: Record<ServiceAccountStatus, { label: string; variant: BadgeVariant }> = {
  active: { label: "Active", variant: "success" },
  expired: { label: "Expired", variant: "secondary" },
  disabled: { label: "Disabled", variant: "destructive" },
};

export type RolePortal = { name: string; url: string };

/** A role to pick, with the portals it grants: where its service accounts can get tokens. */
export type RoleOption = { id: string; name: string; portals: readonly RolePortal[] };

/**
 * The portals a service account's token example should name: those its role grants (a token for
 * any other portal is refused with invalid_target). Empty when it has no role or the role grants none.
 */
export function tokenPortalsOf(role: { id: string } | null, roles: readonly RoleOption[]): readonly RolePortal[] {
  if (!role) return [];
  return roles.find((r) => r.id === role.id)?.portals ?? [];
}

/** The role's portals, by portal slug, from the role's grants and the portals list (both as the server read them). */
export function rolePortals(grants: readonly { portalSlug: string }[], portals: readonly { slug: string; name: string; url: string }[]): RolePortal[] {
  const slugs = new Set(grants.map((g) => g.portalSlug));
  return portals.filter((p) => slugs.has(p.slug)).map((p) => ({ name: p.name, url: p.url }));
}

/** What a script runs to get a token: the secret stays in an environment variable, not in shell history. */
export function tokenRequestExample(tokenEndpoint: string, clientId: string, portalUrl: string): string {
  return [
    `curl -s ${tokenEndpoint} \\`,
    `  -u "${clientId}:$PORTICO_CLIENT_SECRET" \\`,
    `  -d grant_type=client_credentials \\`,
    `  --data-urlencode resource=${portalUrl}`,
  ].join("\n");
}
