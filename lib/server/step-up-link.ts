import "server-only";
import type { StepUpLinkParams } from "@/lib/schemas/step-up-link";
import type { StepUpRequestView } from "@/lib/schemas/step-up";
import type { Db } from "./db/client";
import { activeElevationsOf, allowedDurations, findOwnStepUpRequest, findStepUpRole, userRequester } from "./step-up";

/**
 * What the request page (`/step-up/new`, the link in a gateway's tool error or URL elicitation)
 * shows a signed-in person: a refusal when none of their roles lists the risk class under step-up
 * on the portal (or the role approves it call by call and the link does not carry the call's tool
 * and arguments), otherwise the form (durations for a window; the exact call for a per-call
 * approval), or the request already pending for this portal and risk class (a second one would be
 * refused) or else the one the page's URL names in whatever state it is now (so a reload after a
 * denial shows the note), and any active approval that already covers it.
 */
export type StepUpLinkState =
  | { kind: "refused"; title: string; message: string }
  | {
      kind: "form";
      portal: { slug: string; name: string };
      roleName: string;
      durations: number[];
      /** The role approves this risk class one call at a time: the request is for exactly this call. */
      perCall: { server: string; tool: string; arguments: Record<string, unknown> } | null;
      /** The request the page shows: the one pending, else this person's own named in the link (any state). */
      request: StepUpRequestView | null;
      /** When an approved window for this risk class is running: the call goes through until then. */
      activeUntil: string | null;
    };

export async function stepUpLinkState(db: Db, userId: string, link: StepUpLinkParams, now = new Date()): Promise<StepUpLinkState> {
  const portal = await db.portal.findUnique({ where: { slug: link.portal }, select: { id: true, slug: true, name: true } });
  if (!portal) return { kind: "refused", title: "Unknown portal", message: `There is no portal "${link.portal}" in this Portico. Check the link in your client's error message.` };
  const requester = await userRequester(db, userId);
  const role = await findStepUpRole(db, requester, portal.id, link.risk);
  if (!role) {
    return { kind: "refused", title: "Elevated access is not available", message: `None of your roles on ${portal.name} lets you ask for elevated ${link.risk} access. Nothing was filed; ask an admin if you need it.` };
  }
  const isPerCall = role.perCallRiskClasses.includes(link.risk);
  if (isPerCall && (!link.server || !link.tool || !link.args)) {
    return {
      kind: "refused",
      title: "Approved one call at a time",
      message: `${link.risk} calls on ${portal.name} are approved one by one, with their exact arguments, and this link does not carry them (they are left out of links when they are long). File the request through the API: POST /api/v1/step-up-requests with the portal, risk class, server, tool and arguments. Nothing was filed.`,
    };
  }
  const pending = await db.stepUpRequest.findFirst({
    where: { requesterKind: "user", requesterId: userId, portalId: portal.id, riskClass: link.risk, status: "pending", expiresAt: { gt: now } },
    orderBy: { createdAt: "desc" },
    select: { id: true },
  });
  // Only the person's own request, and only for what this link asks: an id from elsewhere shows nothing.
  const named = !pending && link.request ? await findOwnStepUpRequest(db, requester, link.request, now) : null;
  const shown = pending ? await findOwnStepUpRequest(db, requester, pending.id, now) : named && named.portal.slug === portal.slug && named.riskClass === link.risk ? named : null;
  // A window approval covers the risk class; a per-call one covers one call, so it never makes the form moot.
  const active = isPerCall ? undefined : (await activeElevationsOf(db, "user", userId, portal.slug, now)).find((g) => g.riskClass === link.risk);
  return {
    kind: "form",
    portal: { slug: portal.slug, name: portal.name },
    roleName: role.name,
    durations: allowedDurations(role.stepUpMaxMinutes),
    perCall: isPerCall ? { server: link.server!, tool: link.tool!, arguments: link.args! } : null,
    request: shown,
    activeUntil: active ? active.endsAt.toISOString() : null,
  };
}
