import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listAuditEvents } from "@/lib/server/audit-events";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { loadInitialPage, searchParam } from "@/components/data-table/initial-page";
import { AuditTable, type AuditListParams } from "@/components/audit/audit-table";

export const metadata: Metadata = { title: "Audit log" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

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
    cursor: searchParam(sp.cursor),
    kind: searchParam(sp.kind),
    outcome: searchParam(sp.outcome),
    actor: searchParam(sp.actor),
    q: searchParam(sp.q),
  };
  const { page, error } = await loadInitialPage(() => listAuditEvents(db, actor, { ...params, limit: 50 }));

  return (
    <>
      <PageHeader title="Audit log" description={DESCRIPTION} />
      <AuditTable initialPage={page} initialParams={params} initialError={error} />
    </>
  );
}
