import { z } from "zod";
import { dashboardRoles, tokenScopes } from "@/lib/auth/permissions";
import { roleConditions } from "@/lib/policy/conditions";
import { riskClass } from "./common";
import type { AuditEventView } from "./audit";
import type { ConnectedClientView } from "./oauth-client";
import type { PortalToolView, PortalView } from "./portal";
import { rolePrincipal, type RoleView } from "./role";
import { serverStatuses, statusDetail, transports, type ServerView } from "./server";
import type { ServiceAccountView, ServiceAccountWithSecret } from "./service-account";
import type { TokenView } from "./token";
import { toolStates, type ToolView } from "./tool";
import type { UserView } from "./user";

/**
 * What the main /api/v1 resources look like in a response, as zod schemas: the OpenAPI document
 * publishes them (lib/api/openapi.ts) and tests check real responses against what it publishes.
 * The TypeScript view types the data-access functions return stay where they are; the checks at
 * the end of this file fail to compile when a view and its schema part ways.
 */

const instant = z.iso.datetime();

export const serverView = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  url: z.string(),
  transport: z.enum(transports),
  credential: z.object({ kind: z.enum(["none", "header", "reference"]), headerName: z.string().nullable(), ref: z.string().nullable(), hasSecret: z.boolean() }),
  allowSampling: z.boolean(),
  allowElicitation: z.boolean(),
  status: z.enum(serverStatuses),
  statusDetail: statusDetail.nullable(),
  lastSyncedAt: instant.nullable(),
  toolCount: z.number().int(),
  changedToolCount: z.number().int(),
  promptCount: z.number().int(),
  resourceCount: z.number().int(),
  createdAt: instant,
  updatedAt: instant,
});

const toolDefinition = z.object({
  name: z.string(),
  title: z.string().nullable().optional(),
  description: z.string(),
  inputSchema: z.unknown(),
  outputSchema: z.unknown().optional(),
  annotations: z.unknown().optional(),
});

export const toolView = z.object({
  id: z.string(),
  serverId: z.string(),
  serverSlug: z.string(),
  serverName: z.string(),
  name: z.string(),
  title: z.string().nullable(),
  description: z.string(),
  inputSchema: z.unknown(),
  outputSchema: z.unknown(),
  annotations: z.unknown(),
  riskClass,
  riskClassManual: z.boolean(),
  state: z.enum(toolStates),
  definitionHash: z.string(),
  pendingDefinition: toolDefinition.nullable(),
  updatedAt: instant,
});

export const portalView = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  allowlistMode: z.boolean(),
  dropServerPrefix: z.boolean(),
  url: z.string(),
  servers: z.array(z.object({ serverId: z.string(), slug: z.string(), name: z.string(), status: z.string(), enabled: z.boolean() })),
  prefixClashes: z.array(z.object({ kind: z.enum(["prompt", "resource"]), name: z.string(), servers: z.array(z.string()) })),
  roles: z.array(z.object({ id: z.string(), name: z.string(), members: z.number().int() })),
  createdAt: instant,
  updatedAt: instant,
});

export const portalToolView = z.object({
  toolId: z.string(),
  serverId: z.string(),
  serverSlug: z.string(),
  name: z.string(),
  exposedName: z.string(),
  description: z.string(),
  riskClass: z.string(),
  toolState: z.string(),
  enabled: z.boolean(),
  explicit: z.boolean(),
  alias: z.string().nullable(),
  descriptionOverride: z.string().nullable(),
});

export const roleView = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  principals: z.array(rolePrincipal),
  grants: z.array(
    z.object({
      id: z.string(),
      portalId: z.string(),
      portalSlug: z.string(),
      serverSlug: z.string().nullable(),
      toolName: z.string().nullable(),
      riskClasses: z.array(riskClass),
    }),
  ),
  stepUpRiskClasses: z.array(riskClass),
  conditions: roleConditions,
  perCallRiskClasses: z.array(riskClass),
  stepUpMaxMinutes: z.number().int(),
  stepUpApprovers: z.array(z.string()),
  createdAt: instant,
  updatedAt: instant,
});

export const userView = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  role: z.enum(dashboardRoles),
  source: z.string(),
  mfaEnabled: z.boolean(),
  disabled: z.boolean(),
  locked: z.boolean(),
  idpGroups: z.array(z.string()),
  lastLoginAt: instant.nullable(),
  createdAt: instant,
});

export const tokenView = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  scopes: z.array(z.enum(tokenScopes)),
  owner: z.object({ id: z.string(), email: z.string() }),
  expiresAt: instant,
  revokedAt: instant.nullable(),
  lastUsedAt: instant.nullable(),
  createdAt: instant,
});
/** The create answer: the only time the token itself is shown. */
export const createdTokenView = tokenView.extend({ token: z.string() });

export const serviceAccountView = z.object({
  id: z.string(),
  name: z.string(),
  clientId: z.string(),
  role: z.object({ id: z.string(), slug: z.string(), name: z.string() }).nullable(),
  expiresAt: instant,
  disabledAt: instant.nullable(),
  lastUsedAt: instant.nullable(),
  previousSecretExpiresAt: instant.nullable(),
  createdAt: instant,
  updatedAt: instant,
});
/** A create or rotate answer: the only time the secret is shown. */
export const serviceAccountWithSecretView = serviceAccountView.extend({ clientSecret: z.string() });

export const connectedClientView = z.object({
  id: z.string(),
  user: z.object({ id: z.string(), email: z.string() }),
  clientId: z.string(),
  clientName: z.string(),
  portal: z.string().nullable(),
  resource: z.string(),
  scope: z.string(),
  createdAt: instant,
  lastUsedAt: instant.nullable(),
});

export const auditEventView = z.object({
  id: z.string(),
  seq: z.string(),
  time: instant,
  kind: z.string(),
  actorType: z.string(),
  actorId: z.string().nullable(),
  actorLabel: z.string().nullable(),
  action: z.string(),
  outcome: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  portal: z.string().nullable(),
  server: z.string().nullable(),
  tool: z.string().nullable(),
  reasons: z.array(z.string()).nullable(),
  data: z.unknown(),
  sourceIp: z.string().nullable(),
  requestId: z.string().nullable(),
  targetName: z.string().optional(),
  actorName: z.string().optional(),
  payloadsHidden: z.boolean().optional(),
});

export const auditEventDetailView = z.object({ event: auditEventView, configVersion: z.number().int().nullable() });

/** One keyset page of a list operation. */
export const pageOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });

// A view and its schema must describe the same value: each line stops compiling when one changes alone.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const agrees = <A, B>(same: Same<A, B>) => same;
agrees<z.output<typeof serverView>, ServerView>(true);
agrees<z.output<typeof toolView>, ToolView>(true);
agrees<z.output<typeof portalView>, PortalView>(true);
agrees<z.output<typeof portalToolView>, PortalToolView>(true);
agrees<z.output<typeof roleView>, RoleView>(true);
agrees<z.output<typeof userView>, UserView>(true);
agrees<z.output<typeof tokenView>, Omit<TokenView, "scopes"> & { scopes: Array<(typeof tokenScopes)[number]> }>(true);
agrees<z.output<typeof serviceAccountView>, ServiceAccountView>(true);
agrees<z.output<typeof serviceAccountWithSecretView>, ServiceAccountWithSecret>(true);
agrees<z.output<typeof connectedClientView>, ConnectedClientView>(true);
agrees<z.output<typeof auditEventView>, AuditEventView>(true);
