import type { NextRequest } from "next/server";
import { AppError, forbidden } from "@/lib/errors";
import { mfaFreshness, STEP_UP_MFA_COOKIE } from "@/lib/server/oauth/step-up";
import { requestIdFrom, clientIp } from "@/lib/server/auth/request-context";
import { getDb } from "@/lib/server/db/instance";
import { apiRoute, created, problem, queryOf, readJson } from "@/lib/server/http";
import { toAppError } from "@/lib/server/errors";
import { describeError, log } from "@/lib/server/log";
import { byAccessToken, isAccessToken, requesterOfActor, serviceAccountRequester, serviceAccountRoute } from "@/lib/server/step-up-requester";
import { fileStepUpRequest, listOwnStepUpRequests, listStepUpRequests } from "@/lib/server/step-up";

/** The queue or a person's own requests; a service account's own on its token's portal. */
export const GET = byAccessToken(
  serviceAccountRoute(({ db, requester, portal, req }) => listOwnStepUpRequests(db, requester, queryOf(req), { portal })),
  apiRoute(({ db, actor, req }) => listStepUpRequests(db, actor, queryOf(req))),
);

const fileAsActor = apiRoute(async ({ db, actor, req }) => {
  // With a session (the request page), a second factor older than the window is asked for again
  // first, as the authorization page does; an API token is a credential made for scripts and is not.
  if (actor.type === "user") {
    const freshness = await mfaFreshness(db, actor.userId, { sessionMfaAt: await sessionMfaAt(), cookie: req.cookies.get(STEP_UP_MFA_COOKIE)?.value });
    if (freshness.kind === "stale") {
      throw forbidden(freshness.hasTotp ? "Enter your authentication code again first: your second factor is older than the step-up window" : "Sign in again first: your second factor is older than the step-up window");
    }
  }
  return created(await fileStepUpRequest(db, await requesterOfActor(db, actor), await readJson(req)));
});

/** When the session's sign-in proved a second factor; null without a session (or outside a request). */
async function sessionMfaAt(): Promise<number | null> {
  try {
    const { auth } = await import("@/lib/server/auth/next-auth");
    return (await auth())?.mfaAt ?? null;
  } catch {
    return null;
  }
}

/** People file with their session or API token; a service account with its own client-credentials access token. */
export async function POST(req: NextRequest, context: { params: Promise<Record<string, never>> }): Promise<Response> {
  if (!isAccessToken(req.headers.get("authorization"))) return fileAsActor(req, context);
  const requestId = requestIdFrom(req.headers);
  try {
    const db = await getDb();
    const { requester, portal } = await serviceAccountRequester(db, req.headers.get("authorization")!, { requestId, ip: clientIp(req.headers) ?? undefined });
    const body = await readJson(req);
    if (body && typeof body === "object" && "portal" in body && (body as { portal: unknown }).portal !== portal) {
      throw new AppError("forbidden", "This token is for another portal");
    }
    const response = created(await fileStepUpRequest(db, requester, { ...(body as object), portal }));
    response.headers.set("x-request-id", requestId);
    return response;
  } catch (error) {
    const known = toAppError(error);
    if (!known) log("error", "unhandled error in route", { requestId, path: req.nextUrl.pathname, ...describeError(error) });
    return problem(known ?? new AppError("internal", "Something went wrong on our side"), requestId);
  }
}
