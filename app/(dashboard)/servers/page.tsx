import type { Metadata } from "next";

import { AppError } from "@/lib/errors";
import { can } from "@/lib/server/auth/actor";
import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { listServers } from "@/lib/server/servers";
import { ServersList } from "@/components/servers/servers-list";
import { serverListParams } from "@/components/servers/format";

export const metadata: Metadata = { title: "Servers" };

export default async function ServersPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireUser();
  const db = await getDb();
  let params = serverListParams(await searchParams);
  let page;
  try {
    page = await listServers(db, actor, params);
  } catch (error) {
    // A stale or hand-edited cursor is not worth an error page: show the first page instead.
    if (!(error instanceof AppError && error.code === "bad_request" && params.cursor)) throw error;
    params = { ...params, cursor: undefined };
    page = await listServers(db, actor, params);
  }
  return <ServersList initialPage={page} initialParams={params} canWrite={can(actor, "registry:write")} />;
}
