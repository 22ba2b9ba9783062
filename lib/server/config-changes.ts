import "server-only";
import { z } from "zod";
import YAML from "yaml";
import { configDocument, storedConfigState, type ConfigDocument, type StoredConfigState } from "@/lib/config/document";
import { diffDocuments, diffSnapshots, summarizeDiff, withDocumentChanges, type DiffOptions, type EntityChange } from "@/lib/config/diff";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { exportParams, importParams } from "@/lib/schemas/config-changes";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { applyConfigDocument, dryRun, readConfigState, type ApplyReport } from "./config-state";
import { publishConfig, PUSH_WAIT_MS } from "./config-publisher";
import { assertDlpPatternsCompile } from "./dlp";
import { buildSnapshot, getConfigVersion, isSameSealedSecret, listConfigVersions } from "./config-versions";

type Tx = Prisma.TransactionClient;

const versionNumber = z.coerce.number().int().positive().max(2_147_483_647);

export type ConfigDiffView = {
  from: number | null;
  to: number;
  summary: string;
  changes: EntityChange[];
};

async function rawSnapshot(db: Db | Tx, version: number): Promise<unknown> {
  const row = await db.configVersion.findUnique({ where: { version }, select: { snapshot: true } });
  if (!row) throw notFound(`Config version ${version}`);
  return row.snapshot;
}

const diffOptions: DiffOptions = { isSameSecret: isSameSealedSecret };

const listOf = (snapshot: unknown, field: string): Array<Record<string, unknown>> => {
  const value = typeof snapshot === "object" && snapshot !== null ? (snapshot as Record<string, unknown>)[field] : undefined;
  return Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => typeof v === "object" && v !== null) : [];
};

/**
 * Names for the principals the snapshots' step-up grants and revocations carry as ids (a user's
 * id, a service account's or OAuth client's client id), so that the history says
 * "manager@example.com" rather than an internal id. An id no longer in the database stays an id.
 */
async function withPrincipalNames(db: Db | Tx, snapshots: unknown[]): Promise<DiffOptions> {
  const userIds = new Set<string>();
  const clientIds = new Set<string>();
  for (const snapshot of snapshots) {
    for (const g of listOf(snapshot, "elevatedGrants")) (g.principalKind === "user" ? userIds : clientIds).add(String(g.subject));
    for (const r of listOf(snapshot, "revocations")) {
      if (r.kind === "subject") userIds.add(String(r.id));
      if (r.kind === "client") clientIds.add(String(r.id));
    }
  }
  if (!userIds.size && !clientIds.size) return diffOptions;
  const [users, accounts, consents] = await Promise.all([
    userIds.size ? db.user.findMany({ where: { id: { in: [...userIds] } }, select: { id: true, email: true } }) : [],
    clientIds.size ? db.serviceAccount.findMany({ where: { clientId: { in: [...clientIds] } }, select: { clientId: true, name: true } }) : [],
    clientIds.size ? db.oAuthConsent.findMany({ where: { clientId: { in: [...clientIds] } }, select: { clientId: true, clientName: true }, distinct: ["clientId"] }) : [],
  ]);
  const userNames = new Map(users.map((u) => [u.id, u.email]));
  const clientNames = new Map([...consents.map((c): [string, string] => [c.clientId, c.clientName]), ...accounts.map((a): [string, string] => [a.clientId, a.name])]);
  return { ...diffOptions, principalLabel: (kind, id) => (kind === "user" ? userNames.get(id) : clientNames.get(id)) };
}

/**
 * What changed from `against` (default: the version before) to `version`, by entity, in words and
 * as JSON. Works on the stored JSON, so fields another feature added to snapshots show too.
 */
export async function diffConfigVersions(db: Db, actor: Actor, rawVersion: unknown, rawAgainst?: unknown): Promise<ConfigDiffView> {
  authorize(actor, "config:read");
  const to = versionNumber.safeParse(rawVersion);
  if (!to.success) throw notFound("Config version");
  const against = rawAgainst === undefined || rawAgainst === null || rawAgainst === "" ? null : versionNumber.safeParse(rawAgainst);
  if (against && !against.success) throw new AppError("validation_failed", "against must be a version number", [{ field: "against", message: "Not a version number" }]);
  const after = await rawSnapshot(db, to.data);
  let from: number | null = against ? against.data! : null;
  if (from === null) {
    const previous = await db.configVersion.findFirst({ where: { version: { lt: to.data } }, orderBy: { version: "desc" }, select: { version: true } });
    from = previous?.version ?? null;
  }
  const before = from === null ? null : await rawSnapshot(db, from);
  // What snapshots do not carry (a role's step-up approval settings) comes from the stored documents.
  const documents = from === null ? [] : await db.configVersionState.findMany({ where: { version: { in: [from, to.data] } }, select: { version: true, document: true } });
  const documentOf = (v: number) => (documents.find((d) => d.version === v)?.document as { document?: unknown } | undefined)?.document ?? null;
  const options = await withPrincipalNames(db, [before, after]);
  const changes = withDocumentChanges(diffSnapshots(before, after, options), from === null ? [] : diffDocuments(documentOf(from), documentOf(to.data)));
  return { from, to: to.data, summary: summarizeDiff(changes), changes };
}

async function storedState(db: Db | Tx, version: number): Promise<StoredConfigState> {
  const exists = await db.configVersion.count({ where: { version } });
  if (!exists) throw notFound(`Config version ${version}`);
  const row = await db.configVersionState.findUnique({ where: { version } });
  const parsed = storedConfigState.safeParse(row?.document);
  if (!parsed.success) throw new AppError("conflict", `Version ${version} was published before versions recorded what to restore, so it cannot be rolled back to`);
  return parsed.data;
}

export type ChangePreview = {
  /** What gateways would serve differently, from the config in force now. */
  summary: string;
  changes: EntityChange[];
} & ApplyReport;

/** Applies a document in a transaction that is rolled back: the diff it would cause, and its notes. */
async function previewApply(db: Db, document: unknown, mode: "rollback" | "import", fingerprints?: Record<string, string>): Promise<ChangePreview> {
  return dryRun(db, async (tx) => {
    const latest = await tx.configVersion.findFirst({ orderBy: { version: "desc" }, select: { version: true } });
    const version = (latest?.version ?? 0) + 1;
    const [before, stateBefore] = [await buildSnapshot(tx, version), await readConfigState(tx)];
    const report = await applyConfigDocument(tx, document, mode, fingerprints);
    const [after, stateAfter] = [await buildSnapshot(tx, version), await readConfigState(tx)];
    const options = await withPrincipalNames(tx, [before, after]);
    const changes = withDocumentChanges(diffSnapshots(before, after, options), diffDocuments(stateBefore.document, stateAfter.document));
    return { summary: summarizeDiff(changes), changes, ...report };
  });
}

/** What a rollback to `version` would change and what it cannot restore, before anyone confirms. */
export async function previewRollback(db: Db, actor: Actor, rawVersion: unknown): Promise<ChangePreview & { version: number }> {
  authorize(actor, "registry:write");
  const version = versionNumber.safeParse(rawVersion);
  if (!version.success) throw notFound("Config version");
  const state = await storedState(db, version.data);
  return { version: version.data, ...(await previewApply(db, state.document, "rollback", state.secretFingerprints)) };
}

export type ApplyResult = ApplyReport & {
  /** The new version published, or null when the config already said the same. */
  publishedVersion: number | null;
};

const actorLabel = (actor: Actor) => ("email" in actor ? actor.email : actor.type === "system" ? actor.label : "unknown");
const actorUserId = (actor: Actor) => ("userId" in actor ? actor.userId : null);

async function applyAndPublish(db: Db, actor: Actor, document: ConfigDocument, mode: "rollback" | "import", audit: { action: string; targetId: string }, summary: string, fingerprints?: Record<string, string>): Promise<ApplyResult> {
  const report = await db.$transaction(
    async (tx) => {
      const current = await readConfigState(tx);
      const result = await applyConfigDocument(tx, document, mode, fingerprints);
      await recordConfigChange(tx, actor, { action: audit.action, targetType: "config_version", targetId: audit.targetId, before: current.document, after: { ...document, notes: result } });
      return result;
    },
    { maxWait: 10_000, timeout: 30_000 },
  );
  const published = await publishConfig(db, summary, { createdById: actorUserId(actor), waitForGatewaysMs: PUSH_WAIT_MS });
  return { ...report, publishedVersion: published?.isNew ? published.version : null };
}

/**
 * Restores servers, portals and roles as they were at `version`, as a new version (history only
 * grows), audited with the old and new configuration, and pushed to gateways.
 */
export async function rollbackToVersion(db: Db, actor: Actor, rawVersion: unknown): Promise<ApplyResult & { rolledBackTo: number }> {
  authorize(actor, "registry:write");
  const version = versionNumber.safeParse(rawVersion);
  if (!version.success) throw notFound("Config version");
  const state = await storedState(db, version.data);
  const result = await applyAndPublish(
    db,
    actor,
    state.document,
    "rollback",
    { action: "config.rollback", targetId: String(version.data) },
    `Rollback to version ${version.data} by ${actorLabel(actor)}`,
    state.secretFingerprints,
  );
  return { rolledBackTo: version.data, ...result };
}

// ---- export and import

/** The whole configuration as a document (servers without secrets, portals, roles). */
export async function exportConfig(db: Db, actor: Actor): Promise<ConfigDocument> {
  authorize(actor, "config:read");
  const state = await db.$transaction((tx) => readConfigState(tx));
  return state.document;
}

export { exportParams };

export function serializeConfig(document: ConfigDocument, format: "json" | "yaml"): string {
  return format === "yaml" ? YAML.stringify(document) : `${JSON.stringify(document, null, 2)}\n`;
}

const MAX_DOCUMENT_BYTES = 2 * 1024 * 1024;

/** Reads an import body, JSON or YAML by its content type; the shape is checked after authorization. */
export async function readConfigBody(req: Request): Promise<unknown> {
  const type = (req.headers.get("content-type") ?? "").toLowerCase();
  const isYaml = /^(application|text)\/(x-)?yaml/.test(type);
  if (!isYaml && !type.startsWith("application/json")) throw new AppError("bad_request", "Send the document as application/json or application/yaml");
  if (Number(req.headers.get("content-length") ?? 0) > MAX_DOCUMENT_BYTES) throw new AppError("bad_request", "The document is too large");
  const text = await req.text();
  if (text.length > MAX_DOCUMENT_BYTES) throw new AppError("bad_request", "The document is too large");
  try {
    // Aliases are limited so that a small document cannot expand into a huge one.
    return isYaml ? YAML.parse(text, { maxAliasCount: 100 }) : JSON.parse(text);
  } catch {
    throw new AppError("bad_request", `The body is not valid ${isYaml ? "YAML" : "JSON"}`);
  }
}

/**
 * Imports a document: with `dryRun`, only says what would change. Portals and roles are replaced
 * by the document's; servers it lists are updated or created (never deleted, never given a secret).
 */
export async function importConfig(db: Db, actor: Actor, body: unknown, rawParams: unknown): Promise<(ChangePreview & { dryRun: true }) | (ApplyResult & { dryRun: false })> {
  authorize(actor, "registry:write");
  const params = importParams.parse(rawParams);
  const document = configDocument.parse(body);
  // Held to what the DLP settings form allows: patterns that compile under RE2, ids not taken.
  if (document.dlpPatterns) assertDlpPatternsCompile(document.dlpPatterns);
  if (params.dryRun) return { dryRun: true, ...(await previewApply(db, document, "import")) };
  const result = await applyAndPublish(db, actor, document, "import", { action: "config.import", targetId: "import" }, `Configuration imported by ${actorLabel(actor)}`);
  return { dryRun: false, ...result };
}

// ---- history, for admins and auditors (the Gateways page shows versions to every reader)

export async function listVersionHistory(db: Db, actor: Actor, raw: unknown) {
  authorize(actor, "config:read");
  return listConfigVersions(db, actor, raw);
}

export async function getVersionDetail(db: Db, actor: Actor, rawVersion: unknown) {
  authorize(actor, "config:read");
  const version = versionNumber.safeParse(rawVersion);
  if (!version.success) throw notFound("Config version");
  const detail = await getConfigVersion(db, actor, version.data);
  // The JWS repeats the snapshot; the dashboard shows the snapshot and whether it verified.
  const view: Omit<typeof detail, "signature"> & { signature?: string } = { ...detail };
  delete view.signature;
  const canRollBack = (await db.configVersionState.count({ where: { version: version.data } })) > 0;
  return { ...view, canRollBack };
}
