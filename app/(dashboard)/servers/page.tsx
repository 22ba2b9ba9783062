import type { Metadata } from "next";

import { can } from "@/lib/server/auth/actor";
import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { listServers } from "@/lib/server/servers";
import { loadPageOrFirst } from "@/components/data-table/initial-page";
import { ServersList } from "@/components/servers/servers-list";
import { serverListParams } from "@/components/servers/format";

export const metadata: Metadata = { title: "Servers" };

export default async function ServersPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireUser();
  const db = await getDb();
  const { params, page } = await loadPageOrFirst(serverListParams(await searchParams), (p) => listServers(db, actor, p));
  return <ServersList initialPage={page} initialParams={params} canWrite={can(actor, "registry:write")} />;
}
