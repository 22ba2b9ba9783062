import { z } from "zod";
import { dashboardRoles } from "@/lib/auth/permissions";
import { listParams, name, text } from "./common";

export const email = text().trim().toLowerCase().email("Not a valid email").max(320);

export const password = text()
  .min(12, "At least 12 characters")
  .max(256, "At most 256 characters");

export const createUserInput = z.object({
  email,
  name,
  role: z.enum(dashboardRoles),
  password,
});
export type CreateUserInput = z.input<typeof createUserInput>;

export const updateUserInput = z
  .object({
    name,
    role: z.enum(dashboardRoles),
    disabled: z.boolean(),
    password,
    /** Clears a lock-out after repeated failed sign-ins. */
    unlock: z.literal(true),
    /** Turns off TOTP for a user who lost their device and recovery codes. */
    resetMfa: z.literal(true),
  })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "Nothing to update");
export type UpdateUserInput = z.input<typeof updateUserInput>;

export const listUsersParams = listParams.extend({ role: z.enum(dashboardRoles).optional() });

export type UserView = {
  id: string;
  email: string;
  name: string;
  role: (typeof dashboardRoles)[number];
  source: string;
  mfaEnabled: boolean;
  disabled: boolean;
  locked: boolean;
  idpGroups: string[];
  lastLoginAt: string | null;
  createdAt: string;
};
