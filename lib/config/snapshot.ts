import { createHash } from "node:crypto";
import { z } from "zod";
import { dlpPattern, portalDlp } from "@/lib/dlp/policy";
import { canonicalJson } from "@/lib/audit/event";
import { roleConditions } from "@/lib/policy/conditions";
import { riskClass } from "@/lib/schemas/common";
import { revocationEntry } from "./revocations";
import { snapshotElevatedGrant } from "./elevated-grants";
import { principalKinds } from "@/lib/schemas/role";

/**
 * The config snapshot: everything a gateway needs to serve, and nothing more. It is the contract
 * between the planes: the control plane builds and signs it (lib/server/config-versions.ts), the
 * gateway verifies it (lib/config/signing.ts) and serves from it without ever reading the database.
 *
 * Only what a portal offers is in it: servers switched on in the portal, active tools switched on
 * (see `isToolOffered`), with the portal's alias and description override already applied.
 * Quarantined (`changed`) and `removed` tools never reach a gateway as tools; quarantined ones
 * the portal would otherwise offer are named (`quarantined`), so a caller is told why.
 *
 * Objects are not strict, so an older gateway accepts (and ignores) fields a newer control plane
 * adds; the credential is the exception: it is strict so that no clear-text field can ride along.
 */

const jsonObject = z.record(z.string(), z.unknown());
const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, "Not a valid HTTP header name");

export const snapshotCredential = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("none") }),
  /** `sealed`: the header value, sealed for gateways (lib/config/sealed-credential.ts). */
  z.strictObject({ kind: z.literal("header"), headerName, sealed: z.string().regex(/^g1\./, "Not a sealed credential") }),
  /** `env:NAME` or `file:/path`, resolved on the gateway's machine. */
  z.strictObject({ kind: z.literal("reference"), headerName, ref: z.string().regex(/^(env|file):/, "Use env:NAME or file:/path") }),
]);
export type SnapshotCredential = z.infer<typeof snapshotCredential>;

export const snapshotTool = z.object({
  /** The upstream's name, used when forwarding the call. */
  name: z.string().min(1).max(256),
  /** The name MCP clients see: `<server>_<tool>` or the portal's alias. */
  exposedName: z.string().min(1).max(256),
  title: z.string().nullable(),
  /** The portal's description override when set, else the pinned upstream description. */
  description: z.string(),
  inputSchema: jsonObject,
  outputSchema: jsonObject.optional(),
  annotations: jsonObject.optional(),
  riskClass,
  /** The accepted definition's hash, so a gateway can refuse an upstream that drifted since. */
  definitionHash: z.string().min(1).max(128),
});
export type SnapshotTool = z.infer<typeof snapshotTool>;

/**
 * A portal's setting for one prompt or resource of a server (as tools have theirs): off, shown
 * under another name, or with another description. For a prompt, `alias` is the name clients call
 * it by; for a resource, whose URI is its identity, the name shown in lists. Items without a
 * setting are offered as the server offers them.
 */
export const snapshotCatalogSetting = z.object({
  /** The prompt's upstream name, or the resource's URI. */
  key: z.string().min(1).max(2048),
  enabled: z.boolean(),
  alias: z.string().min(1).max(128).optional(),
  description: z.string().max(4000).optional(),
});
export type SnapshotCatalogSetting = z.infer<typeof snapshotCatalogSetting>;

export const snapshotServer = z.object({
  slug: z.string().min(1).max(64),
  name: z.string(),
  url: z.url({ protocol: /^https?$/ }),
  transport: z.enum(["streamable_http", "sse"]),
  credential: snapshotCredential,
  tools: z.array(snapshotTool),
  /** The admin's switches for what this server may ask clients; absent (older control planes) means allowed. */
  serverRequests: z.object({ sampling: z.boolean(), elicitation: z.boolean() }).optional(),
  /** The portal's prompt and resource settings for this server; absent means none. */
  prompts: z.array(snapshotCatalogSetting).optional(),
  resources: z.array(snapshotCatalogSetting).optional(),
  /**
   * Exposed names of this server's tools that the portal would offer but that are quarantined (the
   * upstream changed their definition; an admin must review it), so a gateway can tell a caller
   * which of "quarantined" and "turned off" applies. Absent means none.
   */
  quarantined: z.array(z.string().min(1).max(256)).max(10_000).optional(),
});
export type SnapshotServer = z.infer<typeof snapshotServer>;

export const snapshotPortal = z.object({
  slug: z.string().min(1).max(64),
  name: z.string(),
  allowlistMode: z.boolean(),
  /** Prompts under their own names where no two of the portal's servers clash; absent means prefixed. */
  dropServerPrefix: z.boolean().optional(),
  servers: z.array(snapshotServer),
  /** DLP actions and payload capture; absent: every detector redacts, payloads captured (redacted). */
  dlp: portalDlp.optional(),
});
export type SnapshotPortal = z.infer<typeof snapshotPortal>;

export const snapshotGrant = z.object({
  portalSlug: z.string().min(1),
  /** Null: every server of the portal. */
  serverSlug: z.string().min(1).nullable(),
  /** Null: every tool of the server(s). The upstream name, not the alias. */
  toolName: z.string().min(1).nullable(),
  riskClasses: z.array(riskClass),
});
export type SnapshotGrant = z.infer<typeof snapshotGrant>;

export const snapshotRole = z.object({
  slug: z.string().min(1),
  name: z.string(),
  principals: z.array(z.object({ kind: z.enum(principalKinds), value: z.string().min(1) })),
  grants: z.array(snapshotGrant),
  stepUpRiskClasses: z.array(riskClass),
  conditions: roleConditions,
});
export type SnapshotRole = z.infer<typeof snapshotRole>;

export const configSnapshot = z.object({
  version: z.number().int().positive(),
  createdAt: z.iso.datetime(),
  /** The control plane that signed it. */
  issuer: z.url(),
  portals: z.array(snapshotPortal),
  roles: z.array(snapshotRole),
  /**
   * What was revoked and is not yet expired (see lib/config/revocations.ts). Defaults to none, so a
   * snapshot signed before revocations existed still parses.
   */
  revocations: z.array(revocationEntry).default([]),
  /** Admin DLP patterns (RE2 syntax), run by every portal's scan. Absent in older snapshots. */
  dlpPatterns: z.array(dlpPattern).optional(),
  /**
   * Active step-up grants (see lib/config/elevated-grants.ts). Optional, so a snapshot signed
   * before step-up existed still parses; an older gateway ignores it.
   */
  elevatedGrants: z.array(snapshotElevatedGrant).optional(),
});
export type ConfigSnapshot = z.infer<typeof configSnapshot>;

/** Validates an untrusted value as a snapshot; throws a ZodError naming the first problems. */
export function parseSnapshot(raw: unknown): ConfigSnapshot {
  return configSnapshot.parse(raw);
}

/**
 * A hash of what a snapshot says, ignoring when and as which version it was made, so publishing
 * can tell "nothing changed". Sealed credentials get a fresh IV every time they are sealed, so
 * they are compared by a digest of their opened value; `openSealed` returning null (e.g. the
 * key changed) makes the hash differ, which only costs a new version.
 */
export function snapshotContentHash(snapshot: ConfigSnapshot, openSealed: (sealed: string) => string | null): string {
  const comparable = {
    issuer: snapshot.issuer,
    roles: snapshot.roles,
    revocations: snapshot.revocations,
    // Only when set, so configs from before DLP hash (and version) as they did.
    ...(snapshot.dlpPatterns?.length ? { dlpPatterns: snapshot.dlpPatterns } : {}),
    ...(snapshot.elevatedGrants?.length ? { elevatedGrants: snapshot.elevatedGrants } : {}),
    portals: snapshot.portals.map((portal) => ({
      ...portal,
      servers: portal.servers.map((server) => {
        if (server.credential.kind !== "header") return server;
        const opened = openSealed(server.credential.sealed);
        const secretDigest = opened === null ? `unopened:${server.credential.sealed}` : createHash("sha256").update(opened).digest("hex");
        return { ...server, credential: { kind: "header", headerName: server.credential.headerName, secretDigest } };
      }),
    })),
  };
  return createHash("sha256").update(canonicalJson(comparable)).digest("hex");
}
