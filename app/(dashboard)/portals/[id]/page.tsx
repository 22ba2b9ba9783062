import type { Metadata } from "next";
import { notFound } from "next/navigation";

import { AppError } from "@/lib/errors";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { getPortal, listPortalTools, portalUrl } from "@/lib/server/portals";
import { PortalDetail } from "@/components/portals/portal-detail";

type Props = { params: Promise<{ id: string }> };

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { id } = await params;
  try {
    const portal = await getPortal(await getDb(), await requireUser(), id);
    return { title: `${portal.name} · Portals` };
  } catch {
    return { title: "Portal" };
  }
}

export default async function PortalPage({ params }: Props) {
  const { id } = await params;
  const actor = await requireUser();
  const db = await getDb();
  const loaded = await Promise.all([getPortal(db, actor, id), listPortalTools(db, actor, id)]).catch((error: unknown) => {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  });
  const [portal, tools] = loaded;
  return <PortalDetail initialPortal={portal} initialTools={tools} canWrite={can(actor, "registry:write")} urlPrefix={portalUrl("")} />;
}
