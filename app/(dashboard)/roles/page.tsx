import type { Metadata } from "next";
import { ZodError } from "zod";
import Link from "next/link";
import { Plus } from "lucide-react";

import { AppError } from "@/lib/errors";
import type { Page } from "@/lib/schemas/common";
import type { RoleView } from "@/lib/schemas/role";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listRoles } from "@/lib/server/roles";
import { buttonVariants } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { RolesTable, type RoleListParams } from "@/components/roles/roles-table";

export const metadata: Metadata = { title: "Roles" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;
const one = (v: string | string[] | undefined) => (typeof v === "string" && v !== "" ? v : undefined);

export default async function RolesPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const sp = await searchParams;
  const params: RoleListParams = { q: one(sp.q), cursor: one(sp.cursor) };
  let page: Page<RoleView> = { items: [], nextCursor: null };
  let error: string | undefined;
  try {
    page = await listRoles(db, actor, { ...params, limit: 50 });
  } catch (e) {
    // A hand-edited URL (stale cursor) shows a message rather than an error page.
    if (e instanceof AppError && e.status < 500) error = e.message;
    else if (e instanceof ZodError) error = "The filters in the address are not valid.";
    else throw e;
  }
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
