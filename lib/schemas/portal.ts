import { z } from "zod";
import { description, listParams, name, slug, text } from "./common";
import type { PrefixClash } from "@/lib/config/prefix-clashes";

export const createPortalInput = z.object({
  slug,
  name,
  description: description.default(""),
  allowlistMode: z.boolean().default(false),
  dropServerPrefix: z.boolean().default(false),
  serverIds: z.array(text().min(1).max(64)).max(200).default([]),
});
export type CreatePortalInput = z.input<typeof createPortalInput>;

// No defaults here: zod 4 would apply them inside .partial() and reset unnamed fields.
export const updatePortalInput = z
  .object({ slug, name, description, allowlistMode: z.boolean(), dropServerPrefix: z.boolean() })
  .partial()
  .refine((v) => Object.keys(v).length > 0, "Nothing to update");
export type UpdatePortalInput = z.input<typeof updatePortalInput>;

export const setPortalServersInput = z.object({
  servers: z.array(z.object({ serverId: text().min(1).max(64), enabled: z.boolean().default(true) })).max(200),
});
export type SetPortalServersInput = z.input<typeof setPortalServersInput>;

// What an MCP client sees as the tool's name: MCP allows [A-Za-z0-9_.-], up to 64 characters.
export const exposedToolName = text()
  .trim()
  .min(1)
  .max(64, "At most 64 characters")
  .regex(/^[A-Za-z0-9_.-]+$/, "Use letters, digits, _ . and -");

export const updatePortalToolInput = z
  .object({
    enabled: z.boolean().optional(),
    alias: exposedToolName.nullable().optional(),
    descriptionOverride: text().trim().max(2000).nullable().optional(),
  })
  .refine((v) => Object.keys(v).length > 0, "Nothing to update");
export type UpdatePortalToolInput = z.input<typeof updatePortalToolInput>;

/** A portal's setting for one prompt (alias: the name clients call it by) or resource (alias: the name shown; its URI stays). */
export const updatePortalCatalogInput = z
  .object({
    serverId: text().min(1).max(64),
    kind: z.enum(["prompt", "resource"]),
    key: text().min(1).max(2048),
    enabled: z.boolean().optional(),
    alias: text().trim().min(1).max(128).nullable().optional(),
    descriptionOverride: text().trim().max(2000).nullable().optional(),
  })
  .refine((v) => v.enabled !== undefined || v.alias !== undefined || v.descriptionOverride !== undefined, "Nothing to update")
  .refine((v) => v.kind !== "prompt" || !v.alias || exposedToolName.safeParse(v.alias).success, { message: "A prompt alias uses letters, digits, _ . and - (at most 64)", path: ["alias"] });
export type UpdatePortalCatalogInput = z.input<typeof updatePortalCatalogInput>;

export type PortalCatalogItemView = {
  serverId: string;
  serverSlug: string;
  kind: "prompt" | "resource";
  /** The prompt's upstream name or the resource's URI. */
  key: string;
  /** As clients see it: a prompt's name, a resource's shown name. */
  shownName: string;
  description: string;
  enabled: boolean;
  alias: string | null;
  descriptionOverride: string | null;
};

export const listPortalsParams = listParams;

export type PortalToolView = {
  toolId: string;
  serverId: string;
  serverSlug: string;
  name: string;
  exposedName: string;
  description: string;
  riskClass: string;
  toolState: string;
  enabled: boolean;
  /** Whether `enabled` comes from an explicit toggle or from the portal's default. */
  explicit: boolean;
  alias: string | null;
  descriptionOverride: string | null;
};

export type PortalView = {
  id: string;
  slug: string;
  name: string;
  description: string;
  allowlistMode: boolean;
  dropServerPrefix: boolean;
  url: string;
  servers: { serverId: string; slug: string; name: string; status: string; enabled: boolean }[];
  /** Where dropping the server prefix would clash (lib/config/prefix-clashes.ts), among the enabled servers. */
  prefixClashes: PrefixClash[];
  /** The roles with a grant on this portal; `members`: its principals (people, groups, service accounts). */
  roles: { id: string; name: string; members: number }[];
  createdAt: string;
  updatedAt: string;
};
