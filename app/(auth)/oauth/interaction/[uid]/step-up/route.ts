import { cookies } from "next/headers";
import { NextResponse, type NextRequest } from "next/server";
import { AppError } from "@/lib/errors";
import { getActor } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { toAppError } from "@/lib/server/errors";
import { describeError, log } from "@/lib/server/log";
import { INTERACTION_COOKIE, isConsentFormToken, startedInThisBrowser } from "@/lib/server/oauth/consent-guard";
import { loadAuthorizationRequest, runningProvider } from "@/lib/server/oauth/interactions";
import {
  cancelFromInteraction,
  confirmStepUpTotp,
  elevatedRiskOf,
  fileFromInteraction,
  finishStepUp,
  freshMfaCookie,
  mfaWindowMinutes,
  STEP_UP_MFA_COOKIE,
  stepUpPageInput,
  stepUpPageState,
} from "@/lib/server/oauth/step-up";

const answer = (status: number, body: Record<string, unknown>) => NextResponse.json(body, { status, headers: { "cache-control": "no-store" } });

/**
 * The step-up interaction page's actions (JSON): re-enter TOTP, file the request, finish once it
 * is decided, withdraw it. Guarded like the consent form: same origin, the browser that started
 * the authorization request, a token bound to the request and the person.
 */
export async function POST(req: NextRequest, { params }: { params: Promise<{ uid: string }> }) {
  const { uid } = await params;
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== req.nextUrl.origin && URL.parse(origin)?.host !== (req.headers.get("x-forwarded-host") ?? req.headers.get("host"))) {
    return answer(403, { error: "Cross-site requests are not allowed." });
  }
  const actor = await getActor(req.headers);
  if (!actor || actor.type !== "user") return answer(401, { error: "Sign in to Portico first." });
  const jar = await cookies();
  if (!startedInThisBrowser(jar.get(INTERACTION_COOKIE)?.value, uid)) return answer(403, { error: "This request was started in another browser." });
  const body = (await req.json().catch(() => null)) as Record<string, unknown> | null;
  if (!body || !isConsentFormToken(body.token, uid, actor.userId)) return answer(403, { error: "The form has expired. Start again from your MCP client." });
  const parsed = stepUpPageInput.safeParse(body);
  if (!parsed.success) return answer(422, { error: "Some fields are not valid", errors: parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })) });

  const provider = runningProvider();
  const db = await getDb();
  const request = await loadAuthorizationRequest(provider, db, uid);
  const risk = request ? elevatedRiskOf(request) : null;
  if (!request || !request.view.portal || !risk) return answer(410, { error: "This sign-in request has expired. Start again from your MCP client." });
  const user = { userId: actor.userId, email: actor.email, mfa: actor.mfa, requestId: actor.requestId, ip: actor.ip };
  const input = parsed.data;
  try {
    switch (input.action) {
      case "totp": {
        if (!(await confirmStepUpTotp(db, actor.userId, input.code))) return answer(422, { error: "That code is not right", errors: [{ field: "code", message: "That code is not right, or was used already" }] });
        const res = answer(200, { ok: true });
        res.cookies.set(STEP_UP_MFA_COOKIE, freshMfaCookie(actor.userId), { httpOnly: true, sameSite: "lax", secure: req.nextUrl.protocol === "https:", path: "/", maxAge: mfaWindowMinutes() * 60 });
        return res;
      }
      case "file": {
        // The page's checks again, server-side: a role that lists the risk class, a fresh second factor.
        const state = await stepUpPageState(db, actor.userId, request, risk, { sessionMfaAt: await sessionMfaAt(), cookie: jar.get(STEP_UP_MFA_COOKIE)?.value });
        if (state.kind === "refused") return answer(403, { error: state.message });
        if (state.kind === "needs_mfa") return answer(403, { error: "Enter your authentication code again first." });
        const filed = await fileFromInteraction(db, user, request, risk, input);
        return answer(201, { requestId: filed.id });
      }
      case "finish":
        return answer(200, await finishStepUp(provider, db, user, request, risk, input.requestId));
      case "cancel":
        await cancelFromInteraction(db, user, input.requestId);
        return answer(200, { ok: true });
    }
  } catch (error) {
    const known = toAppError(error);
    if (known) return answer(known.status, { error: known.message, errors: known.fieldErrors });
    log("error", "step-up interaction failed", describeError(error));
    return answer(500, { error: new AppError("internal", "Something went wrong on our side").message });
  }
}

async function sessionMfaAt(): Promise<number | null> {
  const { auth } = await import("@/lib/server/auth/next-auth");
  const session = await auth();
  return session?.mfaAt ?? null;
}
