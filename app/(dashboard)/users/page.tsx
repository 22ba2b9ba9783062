import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listUsers } from "@/lib/server/users";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { loadInitialPage, searchParam } from "@/components/data-table/initial-page";
import { UsersTable, type UserListParams } from "@/components/users/users-table";

export const metadata: Metadata = { title: "Users" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const DESCRIPTION = "People who sign in to this dashboard and their dashboard roles. Access to portals and tools is set by portal roles.";

export default async function UsersPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  if (!can(actor, "users:read")) {
    return (
      <>
        <PageHeader title="Users" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Only admins and auditors can see the user list.
        </Alert>
      </>
    );
  }
  const db = await getDb();
  const sp = await searchParams;
  const params: UserListParams = { q: searchParam(sp.q), role: searchParam(sp.role), cursor: searchParam(sp.cursor) };
  const { page, error } = await loadInitialPage(() => listUsers(db, actor, { ...params, limit: 50 }));

  return (
    <>
      <PageHeader title="Users" description={DESCRIPTION} />
      <UsersTable
        initialPage={page}
        initialParams={params}
        initialError={error}
        canWrite={can(actor, "users:write")}
        currentUserId={actor.userId}
      />
    </>
  );
}
