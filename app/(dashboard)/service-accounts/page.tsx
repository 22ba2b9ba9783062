import type { Metadata } from "next";

import { can } from "@/lib/server/auth/actor";
import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { env } from "@/lib/server/env";
import { listRoles } from "@/lib/server/roles";
import { listServiceAccounts } from "@/lib/server/service-accounts";
import { oauthIssuer } from "@/lib/server/oauth/mount";
import { listPortals } from "@/lib/server/portals";
import { loadPageOrFirst } from "@/components/data-table/initial-page";
import { ServiceAccountsList } from "@/components/service-accounts/service-accounts-list";
import { rolePortals, serviceAccountListParams } from "@/components/service-accounts/format";

export const metadata: Metadata = { title: "Service accounts" };

export default async function ServiceAccountsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireUser();
  const db = await getDb();
  const { params, page } = await loadPageOrFirst(serviceAccountListParams(await searchParams), (p) => listServiceAccounts(db, actor, p));
  const canWrite = can(actor, "registry:write");
  // The secret dialog's token example names a portal the account's role grants: a token for any other is refused.
  const [roles, portals] = await Promise.all([
    canWrite ? listRoles(db, actor, { limit: 100 }) : Promise.resolve({ items: [] }),
    canWrite ? listPortals(db, actor, { limit: 100 }) : Promise.resolve({ items: [] }),
  ]);
  return (
    <ServiceAccountsList
      initialPage={page}
      initialParams={params}
      roles={roles.items.map((r) => ({ id: r.id, name: r.name, portals: rolePortals(r.grants, portals.items) }))}
      canWrite={canWrite}
      tokenEndpoint={`${oauthIssuer(env().PORTICO_CONTROL_PLANE_URL)}/token`}
    />
  );
}
