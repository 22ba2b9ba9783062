import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { AppError } from "@/lib/errors";
import type { ToolView } from "@/lib/schemas/tool";
import { can, type Actor } from "@/lib/server/auth/actor";
import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { getServer, getServerDetail } from "@/lib/server/servers";
import { listTools } from "@/lib/server/tools";
import { ServerDetail } from "@/components/servers/server-detail";
import type { ServerDetailView } from "@/components/servers/format";

type Props = { params: Promise<{ id: string }> };

const isNotFound = (error: unknown) => error instanceof AppError && error.code === "not_found";

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  const actor = await requireUser();
  const db = await getDb();
  const server = await getServer(db, actor, id).catch(() => null);
  return { title: server ? `${server.name} · Servers` : "Server" };
}

async function allTools(db: Awaited<ReturnType<typeof getDb>>, actor: Actor, serverId: string): Promise<ToolView[]> {
  const tools: ToolView[] = [];
  let cursor: string | undefined;
  do {
    const page = await listTools(db, actor, { serverId, limit: 100, cursor });
    tools.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return tools;
}

export default async function ServerPage({ params }: Props) {
  const { id } = await params;
  const actor = await requireUser();
  const db = await getDb();
  let server: ServerDetailView;
  try {
    server = await getServerDetail(db, actor, id);
  } catch (error) {
    if (isNotFound(error)) notFound();
    throw error;
  }
  const tools = await allTools(db, actor, id);
  return <ServerDetail initialServer={server} initialTools={tools} canWrite={can(actor, "registry:write")} />;
}
