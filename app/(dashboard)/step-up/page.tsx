import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { listElevatedGrants, listStepUpOptions, listStepUpRequests, userRequester } from "@/lib/server/step-up";
import { PageHeader } from "@/components/ui/page-header";
import { MyAccess, RequestAccessButton } from "@/components/step-up/my-access";

export const metadata: Metadata = { title: "My access" };
export const dynamic = "force-dynamic";

/**
 * Every signed-in person's own step-up: what they asked for, what a manager decided, and the
 * elevated access they hold now. First paint from the data layer with `mine`, the same reads the
 * page then polls, so a manager sees their own requests here and not the queue.
 */
export default async function MyAccessPage() {
  const actor = await requireUser();
  const db = await getDb();
  const [requests, grants, options] = await Promise.all([
    listStepUpRequests(db, actor, { mine: "1", limit: 100 }),
    listElevatedGrants(db, actor, { mine: "1", limit: 100 }),
    userRequester(db, actor.userId).then((requester) => listStepUpOptions(db, requester)),
  ]);
  return (
    <>
      <PageHeader
        title="My access"
        description="Your requests for elevated access and what managers decided. Approved access lasts for the time shown, then your tools go back to what your role allows."
        actions={<RequestAccessButton options={options} />}
      />
      <MyAccess initialRequests={requests} initialGrants={grants} />
    </>
  );
}
