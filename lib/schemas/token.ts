import { z } from "zod";
import { tokenScopes } from "@/lib/auth/permissions";
import { listParams, name } from "./common";

export const createTokenInput = z.object({
  name,
  scopes: z.array(z.enum(tokenScopes)).min(1, "Pick at least one scope").refine((s) => new Set(s).size === s.length, "Each scope once"),
  expiresInDays: z.coerce.number().int().min(1, "At least 1 day").max(365, "At most 365 days").default(90),
});
export type CreateTokenInput = z.input<typeof createTokenInput>;

export const listTokensParams = listParams.extend({ all: z.enum(["true", "false"]).optional() });

export type TokenView = {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  owner: { id: string; email: string };
  expiresAt: string;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
};
