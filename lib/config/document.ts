import { z } from "zod";
import { patternInput, portalDlpInput } from "@/lib/dlp/settings-input";
import { roleConditions } from "@/lib/policy/conditions";
import { description, name, riskClass, slug, text } from "@/lib/schemas/common";
import { exposedToolName } from "@/lib/schemas/portal";
import { roleFields, rolePrincipal } from "@/lib/schemas/role";
import { serverSlug, serverUrl, transports } from "@/lib/schemas/server";

/**
 * The whole configuration an admin edits (servers without secrets, portals with their toggles,
 * aliases and overrides, roles with grants and conditions) as one document, keyed by slugs so it
 * reads well in git and moves between installations. The same shape is stored with every config
 * version (what a rollback restores) and is what export writes and import reads.
 *
 * It says more than the snapshot: a tool switched off in a portal is a `false` toggle here, absent
 * there; a role's step-up approval settings are here and never reach gateways. Fields reuse the
 * API's schemas, so an imported document is held to what the forms allow.
 *
 * Fields added after the first format (DLP, the sampling and elicitation switches, the prompt
 * prefix, the step-up approval settings) are optional: a version stored before them, or a
 * hand-written document that leaves them out, leaves the current value as it is. Export and every
 * stored version always write them.
 */

const headerName = text()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9-]+$/, "Not a valid HTTP header name");

/** Never a secret: a header credential names its header only; its value stays where it is. */
export const documentCredential = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  z.strictObject({ kind: z.literal("header"), headerName }),
  z.strictObject({ kind: z.literal("reference"), headerName, ref: text().trim().regex(/^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/[^\0]{1,1024})$/, "Use env:NAME or file:/absolute/path") }),
]);
export type DocumentCredential = z.infer<typeof documentCredential>;

export const documentServer = z.object({
  slug: serverSlug,
  name,
  description: description.default(""),
  url: serverUrl,
  transport: z.enum(transports).default("streamable_http"),
  credential: documentCredential.default({ kind: "none" }),
  /** Risk classes set on the server's tools, by upstream tool name (tools come from the upstream, not from here). */
  toolRiskClasses: z.record(text().min(1).max(256), riskClass).default({}),
  /** Whether the gateway relays this server's sampling/createMessage requests to clients. */
  allowSampling: z.boolean().optional(),
  /** Whether the gateway relays this server's elicitation/create requests to clients. */
  allowElicitation: z.boolean().optional(),
});
export type DocumentServer = z.infer<typeof documentServer>;

export const documentPortalTool = z.object({
  server: serverSlug,
  tool: text().min(1).max(256),
  enabled: z.boolean(),
  alias: exposedToolName.nullable().default(null),
  descriptionOverride: text().trim().max(2000).nullable().default(null),
});

export const documentPortal = z.object({
  slug,
  name,
  description: description.default(""),
  allowlistMode: z.boolean().default(false),
  servers: z.array(z.object({ server: serverSlug, enabled: z.boolean().default(true) })).max(200).default([]),
  /** Explicit per-tool settings only; a tool not listed follows the portal's default. */
  tools: z.array(documentPortalTool).max(5000).default([]),
  /** Prompts under their own names where no two of the portal's servers clash. */
  dropServerPrefix: z.boolean().optional(),
  /** DLP action per detector and payload capture mode (`{ actions: {}, capture: "full" }` is the default). */
  dlp: portalDlpInput.optional(),
});
export type DocumentPortal = z.infer<typeof documentPortal>;

export const documentGrant = z
  .object({
    portal: slug,
    server: serverSlug.nullable().default(null),
    tool: text().trim().min(1).max(128).nullable().default(null),
    riskClasses: z.array(riskClass).min(1).default(["read"]),
  })
  .refine((g) => g.tool === null || g.server !== null, { message: "A tool grant needs its server", path: ["server"] });

export const documentRole = z.object({
  slug,
  name,
  description: description.default(""),
  principals: z.array(rolePrincipal).max(500).default([]),
  grants: z.array(documentGrant).max(500).default([]),
  stepUpRiskClasses: z.array(riskClass).default([]),
  conditions: roleConditions.default({ timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null }),
  /** Step-up risk classes approved call by call (bound to the arguments) rather than for a window. */
  perCallRiskClasses: roleFields.perCallRiskClasses.optional(),
  /** The longest step-up window a holder may ask for, in minutes. */
  stepUpMaxMinutes: roleFields.stepUpMaxMinutes.optional(),
  /** Who may approve this role's step-up requests (emails or IdP groups); empty: every approver. */
  stepUpApprovers: roleFields.stepUpApprovers.optional(),
});
export type DocumentRole = z.infer<typeof documentRole>;

const uniqueBy =
  <T>(key: (t: T) => string, what: string) =>
  (items: T[], ctx: z.RefinementCtx) => {
    const seen = new Set<string>();
    for (const item of items) {
      const k = key(item);
      if (seen.has(k)) ctx.addIssue({ code: "custom", message: `${what} "${k}" is listed twice` });
      seen.add(k);
    }
  };

export const CONFIG_DOCUMENT_KIND = "portico/config";

export const configDocument = z
  .object({
    kind: z.literal(CONFIG_DOCUMENT_KIND),
    formatVersion: z.literal(1),
    servers: z.array(documentServer).max(500).superRefine(uniqueBy((s) => s.slug, "Server")),
    portals: z.array(documentPortal).max(500).superRefine(uniqueBy((p) => p.slug, "Portal")),
    roles: z.array(documentRole).max(500).superRefine(uniqueBy((r) => r.slug, "Role")),
    /** Admin DLP patterns (RE2), run by every portal's scan; each portal's actions are on the portal. */
    dlpPatterns: z.array(patternInput).max(50).superRefine(uniqueBy((p) => p.id, "DLP pattern")).optional(),
  })
  .superRefine((doc, ctx) => {
    const servers = new Set(doc.servers.map((s) => s.slug));
    const portals = new Set(doc.portals.map((p) => p.slug));
    for (const portal of doc.portals) {
      for (const s of portal.servers) if (!servers.has(s.server)) ctx.addIssue({ code: "custom", path: ["portals"], message: `Portal "${portal.slug}" names server "${s.server}", which the document does not list` });
    }
    for (const role of doc.roles) {
      for (const g of role.grants) if (!portals.has(g.portal)) ctx.addIssue({ code: "custom", path: ["roles"], message: `Role "${role.slug}" grants on portal "${g.portal}", which the document does not list` });
    }
  });
export type ConfigDocument = z.infer<typeof configDocument>;

/**
 * Stored with a version only (never exported): a keyed digest of each header secret, so a
 * rollback can say "this secret was rotated since" without anyone learning the secret.
 */
export const storedConfigState = z.object({
  document: configDocument,
  secretFingerprints: z.record(z.string(), z.string()).default({}),
});
export type StoredConfigState = z.infer<typeof storedConfigState>;
