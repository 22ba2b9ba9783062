import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ArrowLeft } from "lucide-react";

import { AppError } from "@/lib/errors";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { getRole } from "@/lib/server/roles";
import { PageHeader } from "@/components/ui/page-header";
import { RoleDetails } from "@/components/roles/role-details";
import { RoleForm } from "@/components/roles/role-form";
import { portalOptions } from "../portal-options";

export const metadata: Metadata = { title: "Role" };

export default async function RolePage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const actor = await requireUser();
  const db = await getDb();
  const role = await getRole(db, actor, id).catch((error: unknown) => {
    if (error instanceof AppError && error.code === "not_found") notFound();
    throw error;
  });
  const canWrite = can(actor, "registry:write");

  return (
    <>
      <Link href="/roles" className="mb-3 inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
        <ArrowLeft aria-hidden className="size-4" />
        All roles
      </Link>
      <PageHeader title={role.name} description={role.description || undefined}>
        <p className="font-mono text-xs text-muted-foreground">{role.slug}</p>
      </PageHeader>
      {canWrite ? <RoleForm key={role.updatedAt} role={role} portals={await portalOptions(db, actor)} /> : <RoleDetails role={role} />}
    </>
  );
}
