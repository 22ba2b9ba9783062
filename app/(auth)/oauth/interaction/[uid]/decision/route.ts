import { cookies } from "next/headers";
import { NextResponse, type NextRequest } from "next/server";
import { getActor } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { describeError, log } from "@/lib/server/log";
import { INTERACTION_COOKIE, isConsentFormToken, startedInThisBrowser } from "@/lib/server/oauth/consent-guard";
import { approveAuthorizationRequest, denyAuthorizationRequest, loadAuthorizationRequest, noRoleMessage, portalAccessFor, runningProvider } from "@/lib/server/oauth/interactions";

const refuse = (status: number, message: string) => new NextResponse(message, { status, headers: { "content-type": "text/plain; charset=utf-8" } });

/** The consent form's POST: approve or deny, then 303 to the authorization server to finish. */
export async function POST(req: NextRequest, { params }: { params: Promise<{ uid: string }> }) {
  const { uid } = await params;
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== req.nextUrl.origin && URL.parse(origin)?.host !== (req.headers.get("x-forwarded-host") ?? req.headers.get("host"))) {
    return refuse(403, "Cross-site requests are not allowed.");
  }
  const actor = await getActor(req.headers);
  if (!actor || actor.type !== "user") return refuse(401, "Sign in to Portico first.");
  if (!startedInThisBrowser((await cookies()).get(INTERACTION_COOKIE)?.value, uid)) return refuse(403, "This sign-in request was started in another browser.");

  const form = await req.formData().catch(() => null);
  if (!form || !isConsentFormToken(form.get("token"), uid, actor.userId)) return refuse(403, "The form has expired. Start again from your MCP client.");
  const decision = form.get("decision");
  if (decision !== "approve" && decision !== "deny") return refuse(400, "Choose approve or deny.");

  const provider = runningProvider();
  const db = await getDb();
  const request = await loadAuthorizationRequest(provider, db, uid);
  if (!request || !request.view.portal) return refuse(410, "This sign-in request has expired. Start again from your MCP client.");
  const approver = { userId: actor.userId, email: actor.email, mfa: actor.mfa, requestId: actor.requestId, ip: actor.ip };
  // Checked again here, not only on the page: a person with no role on the portal gets no grant, and
  // the client learns why (access_denied with the same words the page showed).
  const access = await portalAccessFor(db, actor.userId, request.view.portal.slug);
  try {
    const returnTo = !access.hasRole
      ? await denyAuthorizationRequest(db, approver, request, noRoleMessage(request.view.portal.name, access.helpers))
      : decision === "approve"
        ? await approveAuthorizationRequest(provider, db, approver, request)
        : await denyAuthorizationRequest(db, approver, request);
    return NextResponse.redirect(returnTo, 303);
  } catch (error) {
    log("error", "could not finish an authorization request", describeError(error));
    return refuse(409, "This sign-in request is no longer pending. Start again from your MCP client.");
  }
}
