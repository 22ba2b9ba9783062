import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listConnectedClients } from "@/lib/server/oauth/consents";
import { PageHeader } from "@/components/ui/page-header";
import { loadInitialPage, searchParam } from "@/components/data-table/initial-page";
import { ConnectedClientsTable, type ConnectedClientListParams } from "@/components/oauth/connected-clients-table";
import { OAuthClientsCard } from "@/components/oauth/oauth-clients-card";

export const metadata: Metadata = { title: "Connected clients" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function ConnectedClientsPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const sp = await searchParams;
  const canSeeAll = can(actor, "clients:all");
  const params: ConnectedClientListParams = { all: canSeeAll && sp.all === "true" ? "true" : undefined, cursor: searchParam(sp.cursor) };
  const { page, error } = await loadInitialPage(() => listConnectedClients(db, actor, { ...params, limit: 50 }));

  return (
    <>
      <PageHeader
        title="Connected clients"
        description="MCP clients you signed in to a portal with (Claude Code, VS Code, the Inspector…). Disconnect one you no longer use or do not recognise."
      />
      <ConnectedClientsTable initialPage={page} initialParams={params} initialError={error} canSeeAll={canSeeAll} />
      {canSeeAll ? (
        <div className="mt-8">
          <OAuthClientsCard />
        </div>
      ) : null}
    </>
  );
}
