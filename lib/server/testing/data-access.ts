import { randomBytes } from "node:crypto";

import type { DashboardRole } from "@/lib/auth/permissions";

import type { Actor } from "../auth/actor";
import type { Db } from "../db/client";
import { toAppError } from "../errors";

/**
 * For data-access integration tests: a new dashboard user with `role` (a fresh e-mail each call)
 * and the actor a signed-in session of theirs would be, with or without a second factor.
 */
export async function userActor(db: Db, role: DashboardRole, { mfa = true }: { mfa?: boolean } = {}): Promise<Actor> {
  const u = await db.user.create({ data: { email: `${role}-${randomBytes(3).toString("hex")}@t.local`, name: role, role } });
  return { type: "user", userId: u.id, email: u.email, name: u.name, role, mfa };
}

/** The AppError a client would see for a rejected call (or the raw error when it maps to none); throws when the call succeeds. */
export async function errorOf(p: Promise<unknown>) {
  try {
    await p;
  } catch (error) {
    return toAppError(error) ?? error;
  }
  throw new Error("expected a rejection");
}
