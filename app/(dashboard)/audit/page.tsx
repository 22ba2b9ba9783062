import type { Metadata } from "next";
import { ZodError } from "zod";

import { AppError } from "@/lib/errors";
import type { AuditEventView } from "@/lib/schemas/audit";
import type { Page } from "@/lib/schemas/common";
import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listAuditEvents } from "@/lib/server/audit-events";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { AuditTable, type AuditListParams } from "@/components/audit/audit-table";

export const metadata: Metadata = { title: "Audit log" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;
const one = (v: string | string[] | undefined) => (typeof v === "string" && v !== "" ? v : undefined);

const DESCRIPTION = "Every sign-in, configuration change and MCP request, newest first. The log is hash-chained: editing or deleting an entry is detectable.";

export default async function AuditPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  if (!can(actor, "audit:read")) {
    return (
      <>
        <PageHeader title="Audit log" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Only admins and auditors can read the audit log.
        </Alert>
      </>
    );
  }
  const db = await getDb();
  const sp = await searchParams;
  const params: AuditListParams = {
    cursor: one(sp.cursor),
    kind: one(sp.kind),
    outcome: one(sp.outcome),
    actor: one(sp.actor),
    q: one(sp.q),
  };
  let page: Page<AuditEventView> = { items: [], nextCursor: null };
  let error: string | undefined;
  try {
    page = await listAuditEvents(db, actor, { ...params, limit: 50 });
  } catch (e) {
    // A hand-edited URL (unknown outcome, bad cursor) shows a message rather than an error page.
    if (e instanceof AppError && e.status < 500) error = e.message;
    else if (e instanceof ZodError) error = "The filters in the address are not valid.";
    else throw e;
  }

  return (
    <>
      <PageHeader title="Audit log" description={DESCRIPTION} />
      <AuditTable initialPage={page} initialParams={params} initialError={error} />
    </>
  );
}
