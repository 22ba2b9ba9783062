import type { Db } from "@/lib/server/db/client";
import { fileStepUpRequest, userRequester } from "@/lib/server/step-up";

/**
 * Demo data for step-up: the demo analyst's request to tag resources, waiting in the Approvals
 * queue of the demo manager. Idempotent: filed again only when none is pending (a pending request
 * expires after 30 minutes, so each start of the demo shows one).
 */
export async function seedStepUp(db: Db, portalSlug: string): Promise<void> {
  const analyst = await db.user.findUnique({ where: { email: "analyst@portico.local" }, select: { id: true } });
  if (!analyst) return;
  const pending = await db.stepUpRequest.count({ where: { requesterKind: "user", requesterId: analyst.id, status: "pending", expiresAt: { gt: new Date() } } });
  if (pending > 0) return;
  await fileStepUpRequest(db, await userRequester(db, analyst.id), {
    portal: portalSlug,
    riskClass: "write",
    server: "tagging",
    tool: "tag_resource",
    reason: "Tag the Q4 untagged EC2 instances with their cost centre before the audit on Friday",
    durationMinutes: 30,
  }).catch((error: unknown) => {
    // Demo data only: a demo without its sample request still starts.
    console.error(`demo step-up request not filed: ${error instanceof Error ? error.message : String(error)}`);
  });
}
