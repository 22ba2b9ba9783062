import "server-only";
import type { StepUpLinkParams } from "@/lib/schemas/step-up-link";
import type { Db } from "./db/client";
import { activeElevationsOf, allowedDurations, findStepUpRole, userRequester } from "./step-up";

/**
 * What the request page (`/step-up/new`, the link in a gateway's tool error) shows a signed-in
 * person: a refusal when none of their roles lists the risk class under step-up on the portal (or
 * the role approves it call by call, which needs the exact arguments the link does not carry),
 * otherwise the form with the role's durations, or the request already pending for this portal
 * and risk class (a second one would be refused), and any active approval that already covers it.
 */
export type StepUpLinkState =
  | { kind: "refused"; title: string; message: string }
  | {
      kind: "form";
      portal: { slug: string; name: string };
      roleName: string;
      durations: number[];
      pendingRequestId: string | null;
      /** When an approved window for this risk class is running: the call goes through until then. */
      activeUntil: string | null;
    };

export async function stepUpLinkState(db: Db, userId: string, link: StepUpLinkParams, now = new Date()): Promise<StepUpLinkState> {
  const portal = await db.portal.findUnique({ where: { slug: link.portal }, select: { id: true, slug: true, name: true } });
  if (!portal) return { kind: "refused", title: "Unknown portal", message: `There is no portal "${link.portal}" in this Portico. Check the link in your client's error message.` };
  const role = await findStepUpRole(db, await userRequester(db, userId), portal.id, link.risk);
  if (!role) {
    return { kind: "refused", title: "Elevated access is not available", message: `None of your roles on ${portal.name} lets you ask for elevated ${link.risk} access. Nothing was filed; ask an admin if you need it.` };
  }
  if (role.perCallRiskClasses.includes(link.risk)) {
    return {
      kind: "refused",
      title: "Approved one call at a time",
      message: `${link.risk} calls on ${portal.name} are approved one by one, with their exact arguments, which this link does not carry. Ask through your client's re-authorization or the API (POST /api/v1/step-up-requests with the arguments). Nothing was filed.`,
    };
  }
  const pending = await db.stepUpRequest.findFirst({
    where: { requesterKind: "user", requesterId: userId, portalId: portal.id, riskClass: link.risk, status: "pending", expiresAt: { gt: now } },
    orderBy: { createdAt: "desc" },
    select: { id: true },
  });
  const active = (await activeElevationsOf(db, "user", userId, portal.slug, now)).find((g) => g.riskClass === link.risk);
  return {
    kind: "form",
    portal: { slug: portal.slug, name: portal.name },
    roleName: role.name,
    durations: allowedDurations(role.stepUpMaxMinutes),
    pendingRequestId: pending?.id ?? null,
    activeUntil: active ? active.endsAt.toISOString() : null,
  };
}
