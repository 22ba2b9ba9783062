import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listAuditEvents } from "@/lib/server/audit-events";
import { listDlpDetectorOptions } from "@/lib/server/dlp-policy";
import { PageHeader } from "@/components/ui/page-header";
import { loadInitialPage, searchParam } from "@/components/data-table/initial-page";
import { AuditTable, type AuditListParams } from "@/components/audit/audit-table";
import { AUDIT_FILTER_KEYS } from "@/lib/schemas/audit";

export const metadata: Metadata = { title: "Audit log" };

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const DESCRIPTION = "Every sign-in, configuration change and MCP request. The log is hash-chained: editing or deleting an entry is detectable.";

export default async function AuditPage({ searchParams }: { searchParams: SearchParams }) {
  const actor = await requireUser();
  const db = await getDb();
  const sp = await searchParams;
  const params: AuditListParams = Object.fromEntries([...AUDIT_FILTER_KEYS, "cursor", "order"].map((k) => [k, searchParam(sp[k])]));
  const [{ page, error }, dlpDetectors] = await Promise.all([loadInitialPage(() => listAuditEvents(db, actor, { ...params, limit: 50 })), listDlpDetectorOptions(db, actor)]);
  const scopeNote = can(actor, "audit:portals:read")
    ? "You see your own events and the metadata of the portals you approve step-up requests for."
    : !can(actor, "audit:all:read")
    ? "You see the events you caused."
    : !can(actor, "audit:payloads:read")
      ? "MCP arguments and results are hidden for your role."
      : null;

  return (
    <>
      <PageHeader title="Audit log" description={scopeNote ? `${DESCRIPTION} ${scopeNote}` : DESCRIPTION} />
      <AuditTable initialPage={page} initialParams={params} initialError={error} canVerify={can(actor, "audit:verify")} dlpDetectors={dlpDetectors} />
    </>
  );
}
