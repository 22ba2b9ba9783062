import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { authorize, can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listElevatedGrants, listStepUpRequests } from "@/lib/server/step-up";
import { PageHeader } from "@/components/ui/page-header";
import { Approvals } from "@/components/step-up/approvals";

export const metadata: Metadata = { title: "Approvals" };
export const dynamic = "force-dynamic";

/** The step-up queue and who holds elevated access now: first paint from the data layer, then live. */
export default async function ApprovalsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireUser();
  authorize(actor, "approvals:read");
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
      <PageHeader
        title="Approvals"
        description="Requests for elevated access wait here for a manager. Approve for a limited time (or one call), deny with a note, and revoke access at any time: gateways refuse it within a second."
      />
      <Approvals initialRequests={requests} initialGrants={grants} canDecide={can(actor, "approvals:decide")} focusId={focusId} />
    </>
  );
}
