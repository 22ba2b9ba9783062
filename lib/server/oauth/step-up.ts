import "server-only";
import { createHmac, timingSafeEqual } from "node:crypto";
import type Provider from "oidc-provider";
import { z } from "zod";
import { AppError } from "@/lib/errors";
import { elevatedScope } from "@/lib/policy/evaluate";
import { riskClass, riskClasses, type RiskClass } from "@/lib/schemas/common";
import { reason as reasonField, stepUpDurations } from "@/lib/schemas/step-up";
import type { Db } from "../db/client";
import { verifyTotp } from "../auth/mfa";
import { allowedDurations, pendingMinutes, fileStepUpRequest, findOwnStepUpRequest, findStepUpRole, userRequester, withdrawStepUpRequest } from "../step-up";
import { approveAuthorizationRequest, type Approver, type LoadedRequest } from "./interactions";

/**
 * Step-up through the authorization server: an MCP client re-runs authorization with
 * `mcp:elevated:<risk>` (the gateway's 403 `insufficient_scope` named it). The interaction page
 * then, instead of the consent card: refuses a risk class the person's roles do not list under
 * step-up (nothing filed), asks for the second factor again if it is older than the window, files
 * the request with a reason and a duration, waits for the decision, and finishes the interaction:
 * approved → the grant gets the elevated scope and the token carries it (with `portico_elevation`
 * and a lifetime that ends with the grant, provider.ts); denied → `access_denied`.
 */

const ELEVATED = /^mcp:elevated:([a-z]+)$/;

/** The risk class an authorization request asks elevated access for, or null for an ordinary sign-in. */
export function elevatedRiskOf(request: LoadedRequest): RiskClass | null {
  const scopes = String((request.interaction.params as Record<string, unknown>).scope ?? "").split(" ");
  for (const scope of scopes) {
    const match = ELEVATED.exec(scope);
    if (match && (riskClasses as readonly string[]).includes(match[1]!)) return match[1] as RiskClass;
  }
  return null;
}

/** An ordinary sign-in's interaction lives 15 minutes (oidc-provider's interaction and resume cookies with it). */
export const INTERACTION_SECONDS = 15 * 60;

/**
 * How long an authorization request's interaction lives. One asking for an elevated scope waits
 * on a step-up request, which stays pending for `pendingMinutes()`: its interaction (and the
 * browser's resume cookie, which oidc-provider sets for the same time) must outlive that, with
 * the sign-in window before filing on top, or the page could never finish an approval that came
 * in late and the client would get through only by the principal's grant.
 */
export function interactionSeconds(scope: unknown): number {
  const isElevated = String(scope ?? "")
    .split(" ")
    .some((s) => ELEVATED.test(s));
  return isElevated ? INTERACTION_SECONDS + pendingMinutes() * 60 : INTERACTION_SECONDS;
}

/** How old a second factor may be before step-up asks for it again (minutes; PORTICO_STEP_UP_MFA_MINUTES). */
export function mfaWindowMinutes(): number {
  const raw = Number(process.env.PORTICO_STEP_UP_MFA_MINUTES);
  return Number.isInteger(raw) && raw > 0 && raw <= 24 * 60 ? raw : 10;
}

// A fresh TOTP entered on the step-up page is remembered in a cookie of its own, bound to the
// person and signed, for the same window: the session's own sign-in time is not rewritten.
export const STEP_UP_MFA_COOKIE = "portico_step_up_mfa";
const mfaKey = () => createHmac("sha256", process.env.AUTH_SECRET ?? "").update("portico/step-up-mfa/v1").digest();

export function freshMfaCookie(userId: string, now = Date.now()): string {
  const body = `${userId}.${now}`;
  return `${body}.${createHmac("sha256", mfaKey()).update(body).digest("base64url")}`;
}

function cookieMfaAt(value: string | undefined, userId: string): number | null {
  if (!value) return null;
  const [id, at, mac] = value.split(".");
  if (id !== userId || !at || !mac) return null;
  const expected = Buffer.from(createHmac("sha256", mfaKey()).update(`${id}.${at}`).digest("base64url"));
  const given = Buffer.from(mac);
  return given.length === expected.length && timingSafeEqual(given, expected) ? Number(at) : null;
}

export type StepUpPageState =
  | { kind: "refused"; message: string }
  | { kind: "needs_mfa"; hasTotp: boolean; isSso: boolean }
  | { kind: "form"; durations: number[]; roleName: string; isPerCall: boolean };

/** What the page shows first, from the person's roles and how fresh their second factor is. */
export async function stepUpPageState(db: Db, userId: string, request: LoadedRequest, risk: RiskClass, mfa: { sessionMfaAt: number | null; cookie: string | undefined }, now = Date.now()): Promise<StepUpPageState> {
  const portal = request.view.portal!;
  const row = await db.portal.findUnique({ where: { slug: portal.slug }, select: { id: true } });
  const requester = await userRequester(db, userId);
  const role = row ? await findStepUpRole(db, requester, row.id, risk) : null;
  if (!role) return { kind: "refused", message: `None of your roles on ${portal.name} lets you ask for elevated ${risk} access. Nothing was filed; ask an admin if you need it.` };
  if (role.perCallRiskClasses.includes(risk)) {
    return { kind: "refused", message: `${risk} calls on ${portal.name} are approved one call at a time, with their exact arguments, and a sign-in request cannot carry them, so nothing was filed here. Ask for exactly that call instead: from a client that shows tool errors or supports URL elicitation, the refused call comes with a link to its request page; or file it through the API (POST /api/v1/step-up-requests with the server, tool and arguments).` };
  }
  const windowMs = mfaWindowMinutes() * 60_000;
  const lastMfa = Math.max(mfa.sessionMfaAt ?? 0, cookieMfaAt(mfa.cookie, userId) ?? 0);
  const user = await db.user.findUnique({ where: { id: userId }, select: { totpEnabled: true, idpSubject: true } });
  if (now - lastMfa > windowMs) return { kind: "needs_mfa", hasTotp: !!user?.totpEnabled, isSso: !!user?.idpSubject };
  return { kind: "form", durations: allowedDurations(role.stepUpMaxMinutes), roleName: role.name, isPerCall: false };
}

export type MfaFreshness = { kind: "fresh" } | { kind: "stale"; hasTotp: boolean } | { kind: "none" };

/**
 * Whether this person's second factor is recent enough to ask for elevated access from the request
 * page (`/step-up/new`) or the API with a session: fresh within the window (the session's sign-in or
 * a code entered for step-up), stale (a TOTP code again, or a new sign-in for an SSO account), or
 * none at all (no TOTP enrolled, no MFA from the IdP: nothing to ask for; a role's MFA condition
 * governs such people).
 */
export async function mfaFreshness(db: Db, userId: string, mfa: { sessionMfaAt: number | null; cookie: string | undefined }, now = Date.now()): Promise<MfaFreshness> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { totpEnabled: true } });
  const hasTotp = !!user?.totpEnabled;
  const lastMfa = Math.max(mfa.sessionMfaAt ?? 0, cookieMfaAt(mfa.cookie, userId) ?? 0);
  if (lastMfa === 0 && !hasTotp) return { kind: "none" };
  return now - lastMfa > mfaWindowMinutes() * 60_000 ? { kind: "stale", hasTotp } : { kind: "fresh" };
}

/** Checks a TOTP code for step-up (each code good once); true when it is right. */
export async function confirmStepUpTotp(db: Db, userId: string, code: string): Promise<boolean> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { totpSecretEnc: true, totpEnabled: true, totpLastStep: true } });
  if (!user?.totpEnabled || !user.totpSecretEnc) return false;
  const step = await verifyTotp(user.totpSecretEnc, code.trim(), user.totpLastStep);
  if (step === null) return false;
  await db.user.update({ where: { id: userId }, data: { totpLastStep: step } });
  return true;
}

export const stepUpPageInput = z.discriminatedUnion("action", [
  z.object({ action: z.literal("totp"), code: z.string().trim().regex(/^\d{6}$/, "Enter the 6-digit code") }),
  z.object({
    action: z.literal("file"),
    reason: reasonField,
    durationMinutes: z.coerce.number().int().refine((m) => (stepUpDurations as readonly number[]).includes(m), "Pick 15, 30 or 60 minutes"),
  }),
  z.object({ action: z.literal("finish"), requestId: z.string().min(1).max(64) }),
  z.object({ action: z.literal("cancel"), requestId: z.string().min(1).max(64) }),
]);

export async function fileFromInteraction(db: Db, user: Approver, request: LoadedRequest, risk: RiskClass, input: { reason: string; durationMinutes: number }) {
  const requester = await userRequester(db, user.userId, { requestId: user.requestId ?? undefined, ip: user.ip ?? undefined });
  return fileStepUpRequest(db, requester, { portal: request.view.portal!.slug, riskClass: riskClass.parse(risk), reason: input.reason, durationMinutes: input.durationMinutes });
}

export type FinishResult = { status: "pending" } | { status: "done"; location: string; outcome: "approved" | "denied" | "expired" | "withdrawn"; note: string | null };

/**
 * Finishes the interaction once the request is decided: approved → the client gets a code for a
 * token with the elevated scope, once the gateways run the grant; anything else → `access_denied`.
 * Pending (or approved but not yet in force) → nothing yet.
 */
export async function finishStepUp(provider: Provider, db: Db, user: Approver, request: LoadedRequest, risk: RiskClass, requestId: string, now = new Date()): Promise<FinishResult> {
  const requester = await userRequester(db, user.userId);
  const own = await findOwnStepUpRequest(db, requester, requestId, now);
  if (!own || own.portal.slug !== request.view.portal?.slug || own.riskClass !== risk) throw new AppError("not_found", "Step-up request not found");
  // An approval the gateways do not run yet would send the client to a refusal with its new token.
  if (own.status === "pending" || own.isInForce === false) return { status: "pending" };
  if (own.status === "approved" && own.grantId) {
    const grant = await db.elevatedGrant.findUnique({ where: { id: own.grantId }, select: { status: true, endsAt: true } });
    if (grant?.status === "active" && grant.endsAt > now) {
      const location = await approveAuthorizationRequest(provider, db, user, request, { scope: elevatedScope(risk) });
      return { status: "done", location, outcome: "approved", note: own.decisionNote };
    }
  }
  const { interaction } = request;
  const description = own.status === "denied" ? `a manager denied the step-up request${own.decisionNote ? `: ${own.decisionNote}` : ""}` : `the step-up request was ${own.status}`;
  interaction.result = { error: "access_denied", error_description: oauthErrorDescription(description) };
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return { status: "done", location: interaction.returnTo, outcome: own.status === "approved" ? "expired" : own.status, note: own.decisionNote };
}

/**
 * Text fit for an OAuth `error_description` (RFC 6749 §4.1.2.1: printable ASCII without the
 * double quote and the backslash), from free text such as an approver's note: accents dropped,
 * line breaks as spaces, any other character outside the set as "?", at most 300 characters.
 */
export function oauthErrorDescription(text: string): string {
  const ascii = text
    .normalize("NFKD")
    .replace(/\p{M}/gu, "")
    .replace(/\s+/g, " ")
    .replace(/"/g, "'")
    .replace(/\\/g, "/")
    .replace(/[^\x20-\x7e]/gu, "?")
    .trim();
  return ascii.length > 300 ? `${ascii.slice(0, 297)}...` : ascii;
}

export async function cancelFromInteraction(db: Db, user: Approver, requestId: string) {
  return withdrawStepUpRequest(db, await userRequester(db, user.userId), requestId);
}
