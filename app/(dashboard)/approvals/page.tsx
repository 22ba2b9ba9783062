import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listElevatedGrants, listStepUpRequests } from "@/lib/server/step-up";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { Approvals } from "@/components/step-up/approvals";

export const metadata: Metadata = { title: "Approvals" };
export const dynamic = "force-dynamic";

const DESCRIPTION =
  "Requests for elevated access wait here for a manager. Approve for a limited time (or one call), deny with a note, and revoke access at any time: gateways refuse it within a second.";

/** The step-up queue and who holds elevated access now: first paint from the data layer, then live. */
export default async function ApprovalsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireUser();
  if (!can(actor, "approvals:read")) {
    return (
      <>
        <PageHeader title="Approvals" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Approvals are for managers (approvers), admins and auditors. To ask for elevated access, use the link your MCP client shows when a tool needs approval.
        </Alert>
      </>
    );
  }
  const db = await getDb();
  const focus = (await searchParams).request;
  // The approver webhook links here with the request's id; anything else in the query is ignored.
  const focusId = typeof focus === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(focus) ? focus : null;
  const [requests, grants] = await Promise.all([
    listStepUpRequests(db, actor, { status: "pending", limit: 100 }),
    listElevatedGrants(db, actor, { status: "active", limit: 100 }),
  ]);
  return (
    <>
      <PageHeader title="Approvals" description={DESCRIPTION} />
      <Approvals initialRequests={requests} initialGrants={grants} canDecide={can(actor, "approvals:decide")} focusId={focusId} />
    </>
  );
}
