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

export type RoleOption = { id: string; name: string };

/** What a script runs to get a token: the secret stays in an environment variable, not in shell history. */
export function tokenRequestExample(tokenEndpoint: string, clientId: string, portalUrl: string): string {
  return [
    `curl -s ${tokenEndpoint} \\`,
    `  -u "${clientId}:$PORTICO_CLIENT_SECRET" \\`,
    `  -d grant_type=client_credentials \\`,
    `  --data-urlencode resource=${portalUrl}`,
  ].join("\n");
}
