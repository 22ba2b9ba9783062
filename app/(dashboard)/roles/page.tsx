import type { Metadata } from "next";
import Link from "next/link";
import { Plus } from "lucide-react";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listRoles } from "@/lib/server/roles";
import { buttonVariants } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { loadInitialPage, searchParam } from "@/components/data-table/initial-page";
import { RolesTable, type RoleListParams } from "@/components/roles/roles-table";

export const metadata: Metadata = { title: "Roles" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function RolesPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const sp = await searchParams;
  const params: RoleListParams = { q: searchParam(sp.q), cursor: searchParam(sp.cursor) };
  const { page, error } = await loadInitialPage(() => listRoles(db, actor, { ...params, limit: 50 }));
  const canWrite = can(actor, "registry:write");

  return (
    <>
      <PageHeader
        title="Portal roles"
        description="Who may use which portals, servers and tools, and under which conditions (hours, networks, MFA). Not to be confused with dashboard roles."
        actions={
          canWrite ? (
            <Link href="/roles/new" className={buttonVariants()}>
              <Plus aria-hidden />
              New role
            </Link>
          ) : null
        }
      />
      <RolesTable initialPage={page} initialParams={params} initialError={error} canWrite={canWrite} />
    </>
  );
}
