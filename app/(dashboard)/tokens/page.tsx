import type { Metadata } from "next";
import { ZodError } from "zod";

import { AppError } from "@/lib/errors";
import { permissions, roleCan, scopeFor, type Permission } from "@/lib/auth/permissions";
import type { Page } from "@/lib/schemas/common";
import type { TokenView } from "@/lib/schemas/token";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listTokens } from "@/lib/server/tokens";
import { PageHeader } from "@/components/ui/page-header";
import { TokensTable, type TokenListParams } from "@/components/tokens/tokens-table";

export const metadata: Metadata = { title: "API tokens" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;
const one = (v: string | string[] | undefined) => (typeof v === "string" && v !== "" ? v : undefined);

export default async function TokensPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const sp = await searchParams;
  const canSeeAll = can(actor, "tokens:all");
  const params: TokenListParams = { all: canSeeAll && sp.all === "true" ? "true" : undefined, cursor: one(sp.cursor) };
  let page: Page<TokenView> = { items: [], nextCursor: null };
  let error: string | undefined;
  try {
    page = await listTokens(db, actor, { ...params, limit: 50 });
  } catch (e) {
    // A hand-edited URL (stale cursor) shows a message rather than an error page.
    if (e instanceof AppError && e.status < 500) error = e.message;
    else if (e instanceof ZodError) error = "The filters in the address are not valid.";
    else throw e;
  }
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
