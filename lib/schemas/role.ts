import { z } from "zod";
import { roleConditions } from "@/lib/policy/conditions";
import { description, listParams, name, riskClass, slug, text } from "./common";
import { serverSlug } from "./server";

export const principalKinds = ["group", "user", "service_account"] as const;

export const rolePrincipal = z.object({
  kind: z.enum(principalKinds),
  value: text().trim().min(1, "Required").max(320),
});

export const roleGrant = z
  .object({
    portalId: text().min(1, "Pick a portal").max(64),
    serverSlug: serverSlug.nullable().default(null),
    toolName: text().trim().min(1).max(128).nullable().default(null),
    riskClasses: z.array(riskClass).min(1, "Pick at least one risk class").default(["read"]),
  })
  .refine((g) => g.toolName === null || g.serverSlug !== null, { message: "A tool grant needs its server", path: ["serverSlug"] });

const unique = <T>(items: T[], key: (t: T) => string) => new Set(items.map(key)).size === items.length;

// Fields without defaults: zod 4 applies defaults even inside .partial(), which would make a
// PATCH reset every field it did not name.
export const roleFields = {
  slug,
  name,
  description,
  principals: z
    .array(rolePrincipal)
    .max(500)
    .refine((p) => unique(p, (x) => `${x.kind}:${x.value}`), "Each principal may be listed once"),
  grants: z.array(roleGrant).max(500),
  stepUpRiskClasses: z.array(riskClass).refine((r) => unique(r, (x) => x), "Each risk class may be listed once"),
  conditions: roleConditions,
  perCallRiskClasses: z.array(riskClass).refine((r) => unique(r, (x) => x), "Each risk class may be listed once"),
  stepUpMaxMinutes: z.coerce.number().int().refine((m) => [15, 30, 60].includes(m), "Pick 15, 30 or 60 minutes"),
  stepUpApprovers: z.array(text().trim().min(1).max(320)).max(100),
};

export const createRoleInput = z.object({
  ...roleFields,
  description: description.default(""),
  principals: roleFields.principals.default([]),
  grants: roleFields.grants.default([]),
  stepUpRiskClasses: roleFields.stepUpRiskClasses.default([]),
  conditions: roleConditions.default({ timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null }),
  perCallRiskClasses: roleFields.perCallRiskClasses.default([]),
  stepUpMaxMinutes: roleFields.stepUpMaxMinutes.default(60),
  stepUpApprovers: roleFields.stepUpApprovers.default([]),
});
export type CreateRoleInput = z.input<typeof createRoleInput>;

export const updateRoleInput = z.object(roleFields).partial().refine((v) => Object.keys(v).length > 0, "Nothing to update");
export type UpdateRoleInput = z.input<typeof updateRoleInput>;

export const listRolesParams = listParams;

export type RoleView = {
  id: string;
  slug: string;
  name: string;
  description: string;
  principals: z.infer<typeof rolePrincipal>[];
  grants: (z.infer<typeof roleGrant> & { id: string; portalSlug: string })[];
  stepUpRiskClasses: z.infer<typeof riskClass>[];
  conditions: z.infer<typeof roleConditions>;
  /** Step-up risk classes approved call by call, bound to the call's arguments. */
  perCallRiskClasses: z.infer<typeof riskClass>[];
  stepUpMaxMinutes: number;
  /** Emails or IdP groups allowed to approve; empty: every approver and admin. */
  stepUpApprovers: string[];
  createdAt: string;
  updatedAt: string;
};
