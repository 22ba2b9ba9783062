import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listPortals, portalUrl } from "@/lib/server/portals";
import { loadPageOrFirst, searchParam } from "@/components/data-table/initial-page";
import { PortalList } from "@/components/portals/portal-list";

export const metadata: Metadata = { title: "Portals" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function PortalsPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const raw = await searchParams;
  const { params, page } = await loadPageOrFirst({ q: searchParam(raw.q), cursor: searchParam(raw.cursor) }, (p) => listPortals(db, actor, p));
  return <PortalList initialPage={page} initialParams={params} canWrite={can(actor, "registry:write")} urlPrefix={portalUrl("")} />;
}
