"use server";

import { z, ZodError } from "zod";

import { AppError, type FieldError } from "@/lib/errors";
import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { confirmMfaEnrolment, disableMfa, startMfaEnrolment } from "@/lib/server/auth/mfa";
import { describeError, log } from "@/lib/server/log";

export type ActionFailure = { ok: false; message: string; fieldErrors?: Record<string, string> };
export type ActionResult<T extends object = object> = ({ ok: true } & T) | ActionFailure;

const codeInput = z.object({
  code: z
    .string()
    .trim()
    .transform((v) => v.replace(/\s+/g, ""))
    .pipe(z.string().regex(/^\d{6}$/, "Enter the 6-digit code from your authenticator app")),
});

function fieldMap(errors: FieldError[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const e of errors) map[e.field] ??= e.message;
  return map;
}

/** Turns whatever went wrong into a message that is safe to show; never throws to the client. */
function failure(error: unknown, action: string): ActionFailure {
  if (error instanceof AppError) return { ok: false, message: error.message, fieldErrors: fieldMap(error.fieldErrors) };
  if (error instanceof ZodError) {
    return {
      ok: false,
      message: "Check the highlighted field",
      fieldErrors: fieldMap(error.issues.map((i) => ({ field: i.path.join(".") || "code", message: i.message }))),
    };
  }
  log("error", "unhandled error in account security action", { action, ...describeError(error) });
  return { ok: false, message: "Something went wrong on our side. Try again." };
}

export async function startMfaEnrolmentAction(): Promise<ActionResult<{ secret: string; uri: string; qrDataUrl: string }>> {
  // Outside the try: when the session is gone, requireUser redirects by throwing.
  const actor = await requireUser();
  try {
    const db = await getDb();
    const { secret, uri, qrDataUrl } = await startMfaEnrolment(db, actor);
    return { ok: true, secret, uri, qrDataUrl };
  } catch (error) {
    return failure(error, "mfa.start");
  }
}

export async function confirmMfaEnrolmentAction(input: { code: string }): Promise<ActionResult<{ recoveryCodes: string[] }>> {
  const actor = await requireUser();
  try {
    const { code } = codeInput.parse(input);
    const db = await getDb();
    const recoveryCodes = await confirmMfaEnrolment(db, actor, code);
    return { ok: true, recoveryCodes };
  } catch (error) {
    return failure(error, "mfa.confirm");
  }
}

export async function disableMfaAction(input: { code: string }): Promise<ActionResult> {
  const actor = await requireUser();
  try {
    const { code } = codeInput.parse(input);
    const db = await getDb();
    await disableMfa(db, actor, code);
    return { ok: true };
  } catch (error) {
    return failure(error, "mfa.disable");
  }
}
