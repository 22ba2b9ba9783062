import type { Metadata } from "next";

import { AppError } from "@/lib/errors";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listPortals, portalUrl } from "@/lib/server/portals";
import { PortalList } from "@/components/portals/portal-list";

export const metadata: Metadata = { title: "Portals" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const single = (value: string | string[] | undefined) => (typeof value === "string" && value !== "" ? value : undefined);

export default async function PortalsPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const raw = await searchParams;
  let params = { q: single(raw.q), cursor: single(raw.cursor) };
  let page;
  try {
    page = await listPortals(db, actor, params);
  } catch (error) {
    // A stale or hand-edited cursor: show the first page rather than an error page.
    if (!(error instanceof AppError && error.code === "bad_request" && params.cursor)) throw error;
    params = { q: params.q, cursor: undefined };
    page = await listPortals(db, actor, params);
  }
  return <PortalList initialPage={page} initialParams={params} canWrite={can(actor, "registry:write")} urlPrefix={portalUrl("")} />;
}
