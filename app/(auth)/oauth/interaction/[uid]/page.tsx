import type { Metadata } from "next";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { ConsentCard, InteractionProblem, NoRoleCard } from "@/components/oauth/consent-card";
import { StepUpInteraction } from "@/components/step-up/step-up-interaction";
import { auth } from "@/lib/server/auth/next-auth";
import { elevatedRiskOf, STEP_UP_MFA_COOKIE, stepUpPageState } from "@/lib/server/oauth/step-up";
import { getActor } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { consentFormToken, INTERACTION_COOKIE, startedInThisBrowser } from "@/lib/server/oauth/consent-guard";
import { approveAuthorizationRequest, loadAuthorizationRequest, noRoleMessage, portalAccessFor, rememberedConsent, runningProvider } from "@/lib/server/oauth/interactions";

export const metadata: Metadata = { title: "Connect a client" };
export const dynamic = "force-dynamic";

/**
 * Where an MCP client's authorization request lands: sign in to Portico (SSO or local account with
 * MFA), then approve or deny the client for the portal. A client approved before goes straight back.
 */
export default async function AuthorizePage({ params, searchParams }: { params: Promise<{ uid: string }>; searchParams: Promise<{ request?: string }> }) {
  const { uid } = await params;
  const actor = await getActor();
  if (!actor || actor.type !== "user") redirect(`/sign-in?callbackUrl=${encodeURIComponent(`/oauth/interaction/${uid}`)}`);

  if (!startedInThisBrowser((await cookies()).get(INTERACTION_COOKIE)?.value, uid)) {
    return <InteractionProblem title="Open this from your MCP client">This sign-in request was started in another browser, or has already finished. Start again from your MCP client.</InteractionProblem>;
  }
  const provider = runningProvider();
  const db = await getDb();
  const request = await loadAuthorizationRequest(provider, db, uid);
  if (!request) return <InteractionProblem title="This sign-in request has expired">Requests are good for 15 minutes. Start again from your MCP client.</InteractionProblem>;
  if (!request.view.portal) return <InteractionProblem title="Unknown portal">The client asked for access to something that is not a portal of this Portico. Check the portal URL in your client.</InteractionProblem>;

  // An elevated scope is never consented to here: a manager approves it (oauth/step-up.ts).
  const risk = elevatedRiskOf(request);
  if (risk) {
    const jar = await cookies();
    const state = await stepUpPageState(db, actor.userId, request, risk, { sessionMfaAt: (await auth())?.mfaAt ?? null, cookie: jar.get(STEP_UP_MFA_COOKIE)?.value });
    if (state.kind === "refused") return <InteractionProblem title="Elevated access is not available">{state.message}</InteractionProblem>;
    const requestId = (await searchParams).request;
    return (
      <StepUpInteraction
        uid={uid}
        formToken={consentFormToken(uid, actor.userId)}
        clientName={request.clientName}
        portal={{ name: request.view.portal.name, slug: request.view.portal.slug }}
        riskClass={risk}
        user={{ email: actor.email }}
        initial={state.kind === "needs_mfa" ? state : { kind: "form", durations: state.durations, roleName: state.roleName }}
        requestId={typeof requestId === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(requestId) ? requestId : null}
      />
    );
  }

  // No role on the portal: nothing to approve (the gateway would refuse every call), even for a client approved before.
  const access = await portalAccessFor(db, actor.userId, request.view.portal.slug);
  if (!access.hasRole) {
    return <NoRoleCard request={request.view} user={{ email: actor.email }} message={noRoleMessage(request.view.portal.name, access.helpers)} formToken={consentFormToken(uid, actor.userId)} />;
  }

  if (await rememberedConsent(db, actor.userId, request)) {
    redirect(await approveAuthorizationRequest(provider, db, { userId: actor.userId, email: actor.email, mfa: actor.mfa, requestId: actor.requestId, ip: actor.ip }, request));
  }
  return <ConsentCard request={request.view} user={{ email: actor.email, name: actor.name }} formToken={consentFormToken(uid, actor.userId)} />;
}
