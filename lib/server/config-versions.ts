import "server-only";
import { z } from "zod";
import { readDlpPolicy } from "./dlp-policy";
import { canonicalJson } from "@/lib/audit/event";
import { isToolOffered } from "@/lib/config/portal-tools";
import { deriveGatewayCredentialKey, openSealedCredential, sealCredential } from "@/lib/config/sealed-credential";
import { signSnapshot, verifySnapshot } from "@/lib/config/signing";
import { configSnapshot, snapshotContentHash, type ConfigSnapshot, type SnapshotCatalogSetting, type SnapshotCredential, type SnapshotServer, type SnapshotTool } from "@/lib/config/snapshot";
import { exposedToolName } from "@/lib/config/tool-definition";
import { roleConditions } from "@/lib/policy/conditions";
import { listParams, type Page } from "@/lib/schemas/common";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { decryptSecret } from "./crypto";
import { env } from "./env";
import { pageArgs, toPage } from "./pagination";
import { readConfigState } from "./config-state";
import { liveRevocations, pruneRevocations } from "./revocations";
import { activeGrantsForSnapshot } from "./step-up";
import { getActiveSigningKey, publicJwks } from "./signing-keys";

type Tx = Prisma.TransactionClient;

// Any fixed number, distinct from the audit chain's and the signing keys': publishers take it so
// two publishes never read the same latest version.
const PUBLISH_LOCK = 7_031_979;

let gatewayKey: { source: string; key: Buffer } | undefined;

/** The key gateways open sealed credentials with, derived from PORTICO_SECRET_KEY. */
function gatewayCredentialKey(): Buffer {
  const source = env().PORTICO_SECRET_KEY;
  if (!source) throw new Error("PORTICO_SECRET_KEY is not set: upstream credentials cannot be sealed for gateways");
  if (gatewayKey?.source !== source) gatewayKey = { source, key: deriveGatewayCredentialKey(source) };
  return gatewayKey.key;
}

const jsonObjectOrUndefined = (value: Prisma.JsonValue | null) =>
  value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;

const byKey =
  <T>(key: (t: T) => string) =>
  (a: T, b: T) =>
    key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;

function credentialOf(server: { slug: string; credentialKind: string; headerName: string | null; secretEnc: string | null; secretRef: string | null }): SnapshotCredential {
  switch (server.credentialKind) {
    case "header":
      if (!server.headerName || !server.secretEnc) throw new AppError("validation_failed", `Server ${server.slug} has a header credential without its header or secret`);
      // Opened only here, in memory, to be sealed again for gateways: never written in clear.
      return { kind: "header", headerName: server.headerName, sealed: sealCredential(decryptSecret(server.secretEnc), gatewayCredentialKey()) };
    case "reference":
      if (!server.headerName || !server.secretRef) throw new AppError("validation_failed", `Server ${server.slug} has a secret reference without its header or reference`);
      return { kind: "reference", headerName: server.headerName, ref: server.secretRef };
    default:
      return { kind: "none" };
  }
}

/**
 * Everything the gateways need, read from the database: portals with their switched-on servers
 * and offered tools (alias and description override applied), portal roles, and the revocations
 * still in force (lib/server/revocations.ts). Deterministic
 * order throughout, so equal configs make equal snapshots.
 */
export async function buildSnapshot(db: Tx, version: number, createdAt = new Date()): Promise<ConfigSnapshot> {
  // One query at a time: inside the publish transaction every query shares one connection, and
  // concurrent queries on it interleave their results (pg warns; a publish once failed on it).
  const portals = await db.portal.findMany({
    orderBy: { slug: "asc" },
    include: {
      servers: {
        where: { enabled: true },
        include: {
          server: {
            include: {
              tools: { where: { state: { in: ["active", "changed"] } }, include: { portalTools: true } },
              catalogSettings: { orderBy: [{ kind: "asc" }, { key: "asc" }] },
            },
          },
        },
      },
    },
  });
  const roles = await db.portalRole.findMany({
    orderBy: { slug: "asc" },
    include: { principals: true, grants: { include: { portal: { select: { slug: true } } } } },
  });
  const revocations = await liveRevocations(db, createdAt);
  const dlp = await readDlpPolicy(db);
  const elevatedGrants = await activeGrantsForSnapshot(db, createdAt);

  // A server in several portals is sealed once per build, not once per portal.
  const credentials = new Map<string, SnapshotCredential>();

  const snapshot: ConfigSnapshot = {
    version,
    createdAt: createdAt.toISOString(),
    issuer: env().PORTICO_CONTROL_PLANE_URL,
    portals: portals.map((portal) => ({
      slug: portal.slug,
      name: portal.name,
      allowlistMode: portal.allowlistMode,
      ...(dlp.portals[portal.slug] ? { dlp: dlp.portals[portal.slug] } : {}),
      ...(portal.dropServerPrefix ? { dropServerPrefix: true } : {}),
      servers: portal.servers
        .map(({ server, enabled }): SnapshotServer => {
          let credential = credentials.get(server.id);
          if (!credential) credentials.set(server.id, (credential = credentialOf(server)));
          const quarantined: string[] = [];
          const tools = server.tools.flatMap((tool): SnapshotTool[] => {
            const setting = tool.portalTools.find((pt) => pt.portalId === portal.id);
            if (tool.state === "changed") {
              // Offered but for the review: named, so a caller is told it is quarantined rather than off.
              if (isToolOffered({ serverEnabled: enabled, toolState: "active", toggle: setting?.enabled ?? null, allowlistMode: portal.allowlistMode })) {
                quarantined.push(exposedToolName(server.slug, tool.name, setting?.alias));
              }
              return [];
            }
            const offered = isToolOffered({ serverEnabled: enabled, toolState: tool.state, toggle: setting?.enabled ?? null, allowlistMode: portal.allowlistMode });
            const inputSchema = jsonObjectOrUndefined(tool.inputSchema);
            // MCP requires an object schema; a tool stored without one is left out, not guessed at.
            if (!offered || !inputSchema) return [];
            const outputSchema = jsonObjectOrUndefined(tool.outputSchema);
            const annotations = jsonObjectOrUndefined(tool.annotations);
            return [
              {
                name: tool.name,
                exposedName: exposedToolName(server.slug, tool.name, setting?.alias),
                title: tool.title,
                description: setting?.descriptionOverride ?? tool.description,
                inputSchema,
                ...(outputSchema ? { outputSchema } : {}),
                ...(annotations ? { annotations } : {}),
                riskClass: tool.riskClass,
                definitionHash: tool.definitionHash,
              },
            ];
          });
          // Only when an admin turned something off: snapshots of servers that allow both stay as they were.
          const serverRequests = server.allowSampling && server.allowElicitation ? {} : { serverRequests: { sampling: server.allowSampling, elicitation: server.allowElicitation } };
          const catalog = catalogSettingsOf(server.catalogSettings.filter((c) => c.portalId === portal.id));
          return { slug: server.slug, name: server.name, url: server.url, transport: server.transport, credential, tools: tools.sort(byKey((t) => t.exposedName)), ...serverRequests, ...catalog, ...(quarantined.length ? { quarantined: quarantined.sort() } : {}) };
        })
        .sort(byKey((s) => s.slug)),
    })),
    roles: roles.map((role) => ({
      slug: role.slug,
      name: role.name,
      principals: role.principals.map((p) => ({ kind: p.kind, value: p.value })).sort(byKey((p) => `${p.kind}\u0000${p.value}`)),
      grants: role.grants
        .map((g) => ({ portalSlug: g.portal.slug, serverSlug: g.serverSlug, toolName: g.toolName, riskClasses: [...g.riskClasses].sort() }))
        .sort(byKey((g) => canonicalJson(g))),
      stepUpRiskClasses: [...role.stepUpRiskClasses].sort(),
      conditions: roleConditions.parse(role.conditions ?? {}),
    })),
    revocations,
    ...(dlp.patterns.length ? { dlpPatterns: dlp.patterns } : {}),
    ...(elevatedGrants.length ? { elevatedGrants } : {}),
  };
  // Fails loudly on anything a gateway would refuse, before it is signed and stored.
  return configSnapshot.parse(snapshot);
}

/** Whether two sealings hold the same secret (each sealing has its own IV), for diffs. */
export function isSameSealedSecret(a: string, b: string): boolean {
  const x = openOrNull(a);
  return x !== null && x === openOrNull(b);
}

function openOrNull(sealed: string): string | null {
  try {
    return openSealedCredential(sealed, gatewayCredentialKey());
  } catch {
    return null;
  }
}

export type PublishResult = { version: number; signature: string; isNew: boolean };

/**
 * Builds, signs and stores the next immutable config version, unless the config says the same as
 * the latest version (then that one is returned with `isNew: false`). Call it after a change's
 * transaction has committed, never inside one: it takes its own transaction and locks.
 */
export type PublishOptions = {
  createdById?: string | null;
  /**
   * False: a snapshot equal to the latest's makes no version, without reading the stored
   * document to compare (the periodic republish, which runs often and looks for expired
   * revocations only; a saved change publishes with the comparison).
   */
  compareDocument?: boolean;
};

export async function publishConfigVersion(db: Db, actor: Actor, summary: string, options: PublishOptions = {}): Promise<PublishResult> {
  authorize(actor, "registry:write");
  const text = z.string().trim().max(500).parse(summary);
  // Read (and on first use, created) outside the publish transaction, which it cannot nest in.
  const key = await getActiveSigningKey(db);
  return db.$transaction(
    async (tx) => {
      // Read committed, after the lock: a publisher that waited sees the version the other one
      // stored and the config it was built from.
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(${PUBLISH_LOCK})`;
      const latest = await tx.configVersion.findFirst({ orderBy: { version: "desc" }, select: { version: true, snapshot: true, signature: true } });
      const createdAt = new Date();
      await pruneRevocations(tx, createdAt);
      const version = (latest?.version ?? 0) + 1;
      const snapshot = await buildSnapshot(tx, version, createdAt);
      let state: Awaited<ReturnType<typeof readConfigState>> | null = null;
      if (latest) {
        const previous = configSnapshot.safeParse(latest.snapshot);
        if (previous.success && snapshotContentHash(previous.data, openOrNull) === snapshotContentHash(snapshot, openOrNull)) {
          if (options.compareDocument === false) return { version: latest.version, signature: latest.signature, isNew: false };
          // A change gateways do not see (a role's approvers, a server in no portal) is still a
          // version: history and rollback must hold it. A version stored before states existed
          // is not republished for that alone.
          const stored = await tx.configVersionState.findUnique({ where: { version: latest.version }, select: { document: true } });
          const storedDocument = (stored?.document as { document?: unknown } | null)?.document;
          if (storedDocument === undefined) return { version: latest.version, signature: latest.signature, isNew: false };
          state = await readConfigState(tx);
          if (canonicalJson(storedDocument) === canonicalJson(state.document)) return { version: latest.version, signature: latest.signature, isNew: false };
        }
      }
      // What a rollback to this version restores (the snapshot holds only what gateways serve).
      state ??= await readConfigState(tx);
      const signature = await signSnapshot(snapshot, key.privateKey, key.kid);
      await tx.configVersion.create({
        data: {
          version,
          snapshot: snapshot as unknown as Prisma.InputJsonValue,
          signature,
          summary: text,
          createdById: options.createdById ?? (actor.type === "system" ? null : actor.userId),
          createdAt,
        },
      });
      await tx.configVersionState.create({ data: { version, document: state as unknown as Prisma.InputJsonValue } });
      await recordConfigChange(tx, actor, {
        action: "config.publish",
        targetType: "config_version",
        targetId: String(version),
        before: latest ? { version: latest.version } : null,
        after: { version, summary: text, kid: key.kid },
      });
      return { version, signature, isNew: true };
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
}

export const listConfigVersionsParams = listParams.pick({ cursor: true, limit: true });

export type ConfigVersionSummary = {
  id: string;
  version: number;
  summary: string;
  createdAt: string;
  createdBy: { id: string; email: string; name: string } | null;
  /** Names of the gateways that last reported running this version. */
  gateways?: string[];
};

export type ConfigVersionView = ConfigVersionSummary & {
  /** Credentials in it are sealed for gateways, never in clear. */
  snapshot: ConfigSnapshot | null;
  /** The compact JWS gateways receive. */
  signature: string;
  /** True when the signature verifies and the stored snapshot is the one it signs. */
  isVerified: boolean;
  verificationError: string | null;
};

const summarySelect = {
  id: true,
  version: true,
  summary: true,
  createdAt: true,
  createdBy: { select: { id: true, email: true, name: true } },
} as const satisfies Prisma.ConfigVersionSelect;

type SummaryRow = Prisma.ConfigVersionGetPayload<{ select: typeof summarySelect }>;

const toSummary = (row: SummaryRow): ConfigVersionSummary => ({
  id: row.id,
  version: row.version,
  summary: row.summary,
  createdAt: row.createdAt.toISOString(),
  createdBy: row.createdBy,
});

/** Config versions, newest first, without their snapshots. */
export async function listConfigVersions(db: Db, actor: Actor, raw: unknown): Promise<Page<ConfigVersionSummary>> {
  authorize(actor, "registry:read");
  const params = listConfigVersionsParams.parse(raw);
  const rows = await db.configVersion.findMany({ select: summarySelect, orderBy: { version: "desc" }, ...pageArgs(params) });
  const running = await db.gateway.findMany({ where: { runningVersion: { in: rows.map((r) => r.version) } }, select: { name: true, runningVersion: true }, orderBy: { name: "asc" } });
  return toPage(rows, params.limit, (row) => ({ ...toSummary(row), gateways: running.filter((g) => g.runningVersion === row.version).map((g) => g.name) }));
}

/**
 * One config version with its snapshot, checked against its signature: the stored JSON is what
 * the dashboard shows and diffs, the JWS is what gateways run, and the two must say the same.
 */
export async function getConfigVersion(db: Db, actor: Actor, version: number): Promise<ConfigVersionView> {
  authorize(actor, "registry:read");
  const number = z.coerce.number().int().positive().safeParse(version);
  if (!number.success) throw notFound("Config version");
  const row = await db.configVersion.findUnique({ where: { version: number.data }, select: { ...summarySelect, snapshot: true, signature: true } });
  if (!row) throw notFound("Config version");
  const stored = configSnapshot.safeParse(row.snapshot);
  let verificationError: string | null = null;
  try {
    const signed = await verifySnapshot(row.signature, await publicJwks(db));
    if (!stored.success) verificationError = "The stored snapshot does not match the schema";
    else if (canonicalJson(signed) !== canonicalJson(stored.data)) verificationError = "The stored snapshot differs from the signed one";
    else if (signed.version !== row.version) verificationError = "The signed snapshot is for another version";
  } catch (error) {
    verificationError = error instanceof Error ? error.message : "The signature does not verify";
  }
  return {
    ...toSummary(row),
    snapshot: stored.success ? stored.data : null,
    signature: row.signature,
    isVerified: verificationError === null,
    verificationError,
  };
}

/** A portal's prompt and resource settings for one server, as the snapshot carries them; nothing when it has none. */
function catalogSettingsOf(rows: { kind: string; key: string; enabled: boolean; alias: string | null; descriptionOverride: string | null }[]) {
  const toSetting = (r: (typeof rows)[number]): SnapshotCatalogSetting => ({
    key: r.key,
    enabled: r.enabled,
    ...(r.alias ? { alias: r.alias } : {}),
    ...(r.descriptionOverride ? { description: r.descriptionOverride } : {}),
  });
  const prompts = rows.filter((r) => r.kind === "prompt").map(toSetting);
  const resources = rows.filter((r) => r.kind === "resource").map(toSetting);
  return { ...(prompts.length ? { prompts } : {}), ...(resources.length ? { resources } : {}) };
}
