import type { Metadata } from "next";
import Link from "next/link";
import { ArrowLeft } from "lucide-react";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { RoleForm } from "@/components/roles/role-form";
import { portalOptions } from "../portal-options";

export const metadata: Metadata = { title: "New role" };

export default async function NewRolePage() {
  const actor = await requireUser();
  const db = await getDb();
  const back = (
    <Link href="/roles" className="mb-3 inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground">
      <ArrowLeft aria-hidden className="size-4" />
      All roles
    </Link>
  );
  if (!can(actor, "registry:write")) {
    return (
      <>
        {back}
        <PageHeader title="New portal role" />
        <Alert variant="warning" title="Only admins can create roles">
          Ask an admin if someone needs access to a portal.
        </Alert>
      </>
    );
  }
  return (
    <>
      {back}
      <PageHeader title="New portal role" description="Decide who may use which tools, and under which conditions." />
      <RoleForm portals={await portalOptions(db, actor)} />
    </>
  );
}
