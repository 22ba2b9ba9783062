import type { Metadata } from "next";

import { permissions, roleCan, scopeFor, type Permission } from "@/lib/auth/permissions";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listTokens } from "@/lib/server/tokens";
import { PageHeader } from "@/components/ui/page-header";
import { loadInitialPage, searchParam } from "@/components/data-table/initial-page";
import { TokensTable, type TokenListParams } from "@/components/tokens/tokens-table";

export const metadata: Metadata = { title: "API tokens" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export default async function TokensPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const sp = await searchParams;
  const canSeeAll = can(actor, "tokens:all");
  const params: TokenListParams = { all: canSeeAll && sp.all === "true" ? "true" : undefined, cursor: searchParam(sp.cursor) };
  const { page, error } = await loadInitialPage(() => listTokens(db, actor, { ...params, limit: 50 }));
  // The write scope is only worth offering to a role that can write something.
  const canWriteScope = (Object.keys(permissions) as Permission[]).some((p) => scopeFor(p) === "write" && roleCan(actor.role, p));

  return (
    <>
      <PageHeader
        title="API tokens"
        description="Personal tokens for the admin REST API. A token acts as you, never beyond your dashboard role, and can be revoked at any time."
      />
      <TokensTable
        initialPage={page}
        initialParams={params}
        initialError={error}
        canSeeAll={canSeeAll}
        canWriteScope={canWriteScope}
        role={actor.role}
        currentUserId={actor.userId}
      />
    </>
  );
}
