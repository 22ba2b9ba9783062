import { z } from "zod";
import { listParams, name, text } from "./common";

export const SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS = 90;
export const SERVICE_ACCOUNT_DEFAULT_GRACE_HOURS = 24;

const portalRoleId = text().trim().min(1, "Pick a role").max(64).nullable();

const expiresInDays = z.coerce.number().int().min(1, "At least 1 day").max(365, "At most 365 days").default(SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS);

export const createServiceAccountInput = z.object({
  name,
  /** The portal role it holds; null: none yet (every call is denied until it gets one). */
  portalRoleId: portalRoleId.default(null),
  expiresInDays,
});
export type CreateServiceAccountInput = z.input<typeof createServiceAccountInput>;

// No defaults: zod 4 applies defaults inside .partial(), which would make a PATCH reset fields.
export const updateServiceAccountInput = z
  .object({ name, portalRoleId, disabled: z.boolean() })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "Nothing to update");
export type UpdateServiceAccountInput = z.input<typeof updateServiceAccountInput>;

export const rotateServiceAccountInput = z.object({
  /** How long the secret being replaced keeps working, so running jobs can switch over. 0: stops now. */
  graceHours: z.coerce.number().int().min(0, "At least 0 hours").max(168, "At most 7 days").default(SERVICE_ACCOUNT_DEFAULT_GRACE_HOURS),
  /** The new secret's lifetime: rotating is also how an account is renewed before (or after) it expires. */
  expiresInDays,
});
export type RotateServiceAccountInput = z.input<typeof rotateServiceAccountInput>;

/**
 * An account with a fixed client id and a secret chosen by the caller: for seeds (the demo's
 * account, end-to-end tests), never for the API, where the server always generates the secret.
 */
export const seedServiceAccountInput = z.object({
  clientId: text().regex(/^sa_[a-z0-9_]{3,60}$/, "sa_ then 3 to 60 lowercase letters, digits or underscores"),
  name,
  portalRoleId: portalRoleId.default(null),
  clientSecret: text().min(32, "At least 32 characters").max(256),
  expiresInDays,
});
export type SeedServiceAccountInput = z.input<typeof seedServiceAccountInput>;

export const listServiceAccountsParams = listParams;

export type ServiceAccountView = {
  id: string;
  name: string;
  clientId: string;
  role: { id: string; slug: string; name: string } | null;
  expiresAt: string;
  disabledAt: string | null;
  lastUsedAt: string | null;
  /** Set while the secret replaced by the last rotation still works. */
  previousSecretExpiresAt: string | null;
  createdAt: string;
  updatedAt: string;
};

/** A create or rotate answer: the only time the secret is ever shown. */
export type ServiceAccountWithSecret = ServiceAccountView & { clientSecret: string };

export type ServiceAccountStatus = "active" | "expired" | "disabled";

export function serviceAccountStatus(account: Pick<ServiceAccountView, "disabledAt" | "expiresAt">, now: number): ServiceAccountStatus {
  if (account.disabledAt) return "disabled";
  if (new Date(account.expiresAt).getTime() <= now) return "expired";
  return "active";
}
