import type { Metadata } from "next";
import { ZodError } from "zod";

import { AppError } from "@/lib/errors";
import type { Page } from "@/lib/schemas/common";
import type { UserView } from "@/lib/schemas/user";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listUsers } from "@/lib/server/users";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { UsersTable, type UserListParams } from "@/components/users/users-table";

export const metadata: Metadata = { title: "Users" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;
const one = (v: string | string[] | undefined) => (typeof v === "string" && v !== "" ? v : undefined);

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
  const params: UserListParams = { q: one(sp.q), role: one(sp.role), cursor: one(sp.cursor) };
  let page: Page<UserView> = { items: [], nextCursor: null };
  let error: string | undefined;
  try {
    page = await listUsers(db, actor, { ...params, limit: 50 });
  } catch (e) {
    // A hand-edited URL (unknown role, stale cursor) shows a message rather than an error page.
    if (e instanceof AppError && e.status < 500) error = e.message;
    else if (e instanceof ZodError) error = "The filters in the address are not valid.";
    else throw e;
  }

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
