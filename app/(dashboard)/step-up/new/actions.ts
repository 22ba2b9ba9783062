"use server";

import { cookies, headers } from "next/headers";
import { z } from "zod";
import { getActor } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { confirmStepUpTotp, freshMfaCookie, mfaWindowMinutes, STEP_UP_MFA_COOKIE } from "@/lib/server/oauth/step-up";

export type TotpState = { error: string | null; ok: boolean };

const codeInput = z.object({ code: z.string().trim().regex(/^\d{6}$/, "Enter the 6-digit code") });

/** The request page's "enter your code again": a right code is remembered for the step-up window, as on the authorization page. */
export async function confirmStepUpCode(_previous: TotpState, form: FormData): Promise<TotpState> {
  const actor = await getActor(await headers());
  if (!actor || actor.type !== "user") return { ok: false, error: "Sign in to Portico first." };
  const parsed = codeInput.safeParse({ code: form.get("code") });
  if (!parsed.success) return { ok: false, error: parsed.error.issues[0]?.message ?? "Enter the 6-digit code" };
  if (!(await confirmStepUpTotp(await getDb(), actor.userId, parsed.data.code))) return { ok: false, error: "That code is not right, or was used already" };
  const jar = await cookies();
  jar.set(STEP_UP_MFA_COOKIE, freshMfaCookie(actor.userId), { httpOnly: true, sameSite: "lax", secure: process.env.AUTH_URL?.startsWith("https:") ?? false, path: "/", maxAge: mfaWindowMinutes() * 60 });
  return { ok: true, error: null };
}
