import "server-only";
import { createHmac, hkdfSync } from "node:crypto";
import { CONFIG_DOCUMENT_KIND, configDocument, type ConfigDocument, type StoredConfigState } from "@/lib/config/document";
import { portalDlp, type PortalDlp } from "@/lib/dlp/policy";
import { roleConditions } from "@/lib/policy/conditions";
import { canonicalJson } from "@/lib/audit/event";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import { decryptSecret } from "./crypto";
import { DLP_SETTING, readDlpPolicy, type DlpPolicy } from "./dlp-policy";
import { env } from "./env";

type Tx = Prisma.TransactionClient;

const bySlug = <T extends { slug: string }>(a: T, b: T) => (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0);

let fingerprintKey: { source: string; key: Buffer } | undefined;

/**
 * A keyed digest of a secret: equal for equal secrets under this installation's key, useless to
 * anyone without it. Lets a rollback say "rotated since" without storing the secret twice.
 */
function secretFingerprint(secretEnc: string): string | null {
  const source = env().PORTICO_SECRET_KEY;
  if (!source) return null;
  if (fingerprintKey?.source !== source) {
    fingerprintKey = { source, key: Buffer.from(hkdfSync("sha256", Buffer.from(source, "base64"), Buffer.alloc(0), "portico config secret fingerprint", 32)) };
  }
  try {
    return createHmac("sha256", fingerprintKey.key).update(decryptSecret(secretEnc)).digest("base64url");
  } catch {
    return null;
  }
}

/** The configuration as the database holds it now, keyed by slugs (lib/config/document.ts). */
export async function readConfigState(tx: Tx): Promise<StoredConfigState> {
  // In turn, not at once: in a transaction the queries share one connection (see buildSnapshot).
  const servers = await tx.server.findMany({ include: { tools: { where: { state: { not: "removed" } }, select: { name: true, riskClass: true }, orderBy: { name: "asc" } } } });
  const portals = await tx.portal.findMany({
    include: {
      servers: { include: { server: { select: { slug: true } } } },
      tools: { include: { tool: { select: { name: true, server: { select: { slug: true } } } } } },
    },
  });
  const roles = await tx.portalRole.findMany({ include: { principals: true, grants: { include: { portal: { select: { slug: true } } } } } });
  const dlp = await readDlpPolicy(tx);
  const secretFingerprints: Record<string, string> = {};
  for (const s of servers) {
    const fp = s.secretEnc ? secretFingerprint(s.secretEnc) : null;
    if (fp) secretFingerprints[s.slug] = fp;
  }
  const document: ConfigDocument = {
    kind: CONFIG_DOCUMENT_KIND,
    formatVersion: 1,
    servers: servers
      .map((s) => ({
        slug: s.slug,
        name: s.name,
        description: s.description,
        url: s.url,
        transport: s.transport,
        credential:
          s.credentialKind === "header" && s.headerName
            ? { kind: "header" as const, headerName: s.headerName }
            : s.credentialKind === "reference" && s.headerName && s.secretRef
              ? { kind: "reference" as const, headerName: s.headerName, ref: s.secretRef }
              : { kind: "none" as const },
        toolRiskClasses: Object.fromEntries(s.tools.map((t) => [t.name, t.riskClass])),
        allowSampling: s.allowSampling,
        allowElicitation: s.allowElicitation,
      }))
      .sort(bySlug),
    portals: portals
      .map((p) => ({
        slug: p.slug,
        name: p.name,
        description: p.description,
        allowlistMode: p.allowlistMode,
        servers: p.servers.map((s) => ({ server: s.server.slug, enabled: s.enabled })).sort((a, b) => a.server.localeCompare(b.server)),
        tools: p.tools
          .map((t) => ({ server: t.tool.server.slug, tool: t.tool.name, enabled: t.enabled, alias: t.alias, descriptionOverride: t.descriptionOverride }))
          .sort((a, b) => `${a.server}/${a.tool}`.localeCompare(`${b.server}/${b.tool}`)),
        dropServerPrefix: p.dropServerPrefix,
        dlp: dlp.portals[p.slug] ?? DEFAULT_PORTAL_DLP,
      }))
      .sort(bySlug),
    roles: roles
      .map((r) => ({
        slug: r.slug,
        name: r.name,
        description: r.description,
        principals: r.principals.map((p) => ({ kind: p.kind, value: p.value })).sort((a, b) => `${a.kind}:${a.value}`.localeCompare(`${b.kind}:${b.value}`)),
        grants: r.grants
          .map((g) => ({ portal: g.portal.slug, server: g.serverSlug, tool: g.toolName, riskClasses: [...g.riskClasses].sort() }))
          .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
        stepUpRiskClasses: [...r.stepUpRiskClasses].sort(),
        conditions: roleConditions.parse(r.conditions ?? {}),
        perCallRiskClasses: [...r.perCallRiskClasses].sort(),
        stepUpMaxMinutes: r.stepUpMaxMinutes,
        stepUpApprovers: [...r.stepUpApprovers].sort(),
      }))
      .sort(bySlug),
    dlpPatterns: dlp.patterns,
  };
  return { document, secretFingerprints };
}

/** What a portal without DLP settings does: every detector redacts, payloads captured (redacted). */
const DEFAULT_PORTAL_DLP: PortalDlp = portalDlp.parse({});

const isDefaultDlp = (d: PortalDlp) => d.capture === DEFAULT_PORTAL_DLP.capture && Object.keys(d.actions).length === 0;

/**
 * Outside the document: what a rollback leaves as it is because versions never held it. Listed in
 * every preview, so nobody expects them back.
 */
export const NEVER_ROLLED_BACK = [
  "Secrets: versions never hold them; each server keeps its current secret",
  "Ended access (disabled accounts and users, disconnected clients, rotated service-account secrets) stays ended",
  "Active step-up grants and pending step-up requests stay as they are",
  "Sign-in, OAuth and private-target settings, users, API tokens and service accounts are not part of versions",
  "Upstream tool definitions (and quarantined drift) come from the servers, not from versions",
] as const;

export type ApplyMode = "rollback" | "import";

export type ApplyReport = {
  /** What could not be restored as the document says, in words; named before an admin confirms. */
  cannotRestore: string[];
  /** What is left as it is on purpose (servers added since, revocations, secrets), in words. */
  kept: string[];
};

/**
 * Makes the database say what the document says: servers are updated (created on import, never
 * deleted, never given a secret), portals and roles are replaced as a whole (deleted when the
 * document does not list them). Runs inside the caller's transaction; nothing is published here.
 *
 * A rollback restores no secret and no revocation: secrets are never stored in versions, and
 * access that was ended stays ended.
 */
export async function applyConfigDocument(tx: Tx, raw: unknown, mode: ApplyMode, fingerprints: Record<string, string> = {}): Promise<ApplyReport> {
  const doc = configDocument.parse(raw);
  const report: ApplyReport = { cannotRestore: [], kept: [] };
  const what = mode === "rollback" ? "this version" : "the document";

  // ---- servers: updated in place; a deleted one cannot come back with its tools and secret
  const existing = new Map((await tx.server.findMany({ include: { tools: { select: { id: true, name: true, riskClass: true } } } })).map((s) => [s.slug, s]));
  for (const server of doc.servers) {
    const row = existing.get(server.slug);
    if (!row) {
      if (mode === "rollback") {
        report.cannotRestore.push(`Server ${server.slug} was deleted since: its tools and secret are gone, so it is left out of the portals and roles below`);
        continue;
      }
      const created = await tx.server.create({
        data: {
          slug: server.slug,
          name: server.name,
          description: server.description,
          url: server.url,
          transport: server.transport,
          ...(server.credential.kind === "reference" ? { credentialKind: "reference", headerName: server.credential.headerName, secretRef: server.credential.ref } : {}),
          ...(server.allowSampling === undefined ? {} : { allowSampling: server.allowSampling }),
          ...(server.allowElicitation === undefined ? {} : { allowElicitation: server.allowElicitation }),
        },
        include: { tools: { select: { id: true, name: true, riskClass: true } } },
      });
      existing.set(server.slug, created);
      report.cannotRestore.push(`Server ${server.slug} is new here: sync it to discover its tools${server.credential.kind === "header" ? ", and set its secret" : ""}`);
      continue;
    }
    let credential: Prisma.ServerUpdateInput = {};
    if (server.credential.kind === "none") credential = { credentialKind: "none", headerName: null, secretRef: null };
    else if (server.credential.kind === "reference") credential = { credentialKind: "reference", headerName: server.credential.headerName, secretRef: server.credential.ref };
    else if (row.secretEnc) {
      credential = { credentialKind: "header", headerName: server.credential.headerName, secretRef: null };
      const now = secretFingerprint(row.secretEnc);
      if (fingerprints[server.slug] && now && fingerprints[server.slug] !== now) report.kept.push(`The secret of server ${server.slug} was rotated since: the current secret is kept`);
    } else {
      report.cannotRestore.push(`Server ${server.slug} used a header secret that is no longer stored: its credential stays as it is now`);
    }
    // A secret stays stored when the credential kind changes away from it, so a later rollback can bring it back.
    const switches = {
      ...(server.allowSampling === undefined ? {} : { allowSampling: server.allowSampling }),
      ...(server.allowElicitation === undefined ? {} : { allowElicitation: server.allowElicitation }),
    };
    await tx.server.update({
      where: { id: row.id },
      data: { name: server.name, description: server.description, url: server.url, transport: server.transport, ...credential, ...switches },
    });
    for (const [toolName, riskClass] of Object.entries(server.toolRiskClasses)) {
      const tool = row.tools.find((t) => t.name === toolName);
      if (!tool) report.cannotRestore.push(`Tool ${toolName} of server ${server.slug} no longer exists upstream`);
      else if (tool.riskClass !== riskClass) await tx.tool.update({ where: { id: tool.id }, data: { riskClass, riskClassManual: true } });
    }
  }
  if (mode === "rollback") {
    const listed = new Set(doc.servers.map((s) => s.slug));
    for (const slug of existing.keys()) if (!listed.has(slug)) report.kept.push(`Server ${slug}, added since, stays registered but is in no portal as at ${what}`);
  }

  // ---- portals: replaced as a whole, by slug
  await tx.portal.deleteMany({ where: { slug: { notIn: doc.portals.map((p) => p.slug) } } });
  const portalIds = new Map<string, string>();
  for (const portal of doc.portals) {
    const fields = { name: portal.name, description: portal.description, allowlistMode: portal.allowlistMode, ...(portal.dropServerPrefix === undefined ? {} : { dropServerPrefix: portal.dropServerPrefix }) };
    const row = await tx.portal.upsert({ where: { slug: portal.slug }, create: { slug: portal.slug, ...fields }, update: fields, select: { id: true } });
    portalIds.set(portal.slug, row.id);
    await tx.portalServer.deleteMany({ where: { portalId: row.id } });
    await tx.portalTool.deleteMany({ where: { portalId: row.id } });
    const servers = portal.servers.flatMap((s) => {
      const server = existing.get(s.server);
      return server ? [{ portalId: row.id, serverId: server.id, enabled: s.enabled }] : [];
    });
    if (servers.length) await tx.portalServer.createMany({ data: servers });
    const tools = portal.tools.flatMap((t) => {
      const server = existing.get(t.server);
      if (!server) return [];
      const tool = server.tools.find((x) => x.name === t.tool);
      if (!tool) {
        report.cannotRestore.push(`Tool ${t.tool} of server ${t.server} no longer exists: its setting in portal ${portal.slug} is dropped`);
        return [];
      }
      return [{ portalId: row.id, toolId: tool.id, enabled: t.enabled, alias: t.alias, descriptionOverride: t.descriptionOverride }];
    });
    if (tools.length) await tx.portalTool.createMany({ data: tools });
  }

  // ---- roles: replaced as a whole; service accounts follow the roles that name them
  await tx.portalRole.deleteMany({ where: { slug: { notIn: doc.roles.map((r) => r.slug) } } });
  const accounts = await tx.serviceAccount.findMany({ select: { id: true, clientId: true, name: true, portalRoleId: true, disabledAt: true } });
  const accountByClient = new Map(accounts.map((a) => [a.clientId, a]));
  const wantedRole = new Map<string, string | null>();
  for (const role of doc.roles) {
    // A disabled account is kept out of its role's principals (lib/server/service-accounts.ts).
    const principals = role.principals.filter((p) => !(p.kind === "service_account" && accountByClient.get(p.value)?.disabledAt));
    const fields = {
      name: role.name,
      description: role.description,
      stepUpRiskClasses: role.stepUpRiskClasses,
      conditions: role.conditions,
      ...(role.perCallRiskClasses === undefined ? {} : { perCallRiskClasses: role.perCallRiskClasses }),
      ...(role.stepUpMaxMinutes === undefined ? {} : { stepUpMaxMinutes: role.stepUpMaxMinutes }),
      ...(role.stepUpApprovers === undefined ? {} : { stepUpApprovers: role.stepUpApprovers }),
    };
    const row = await tx.portalRole.upsert({ where: { slug: role.slug }, create: { slug: role.slug, ...fields }, update: fields, select: { id: true } });
    await tx.rolePrincipal.deleteMany({ where: { roleId: row.id } });
    await tx.roleGrant.deleteMany({ where: { roleId: row.id } });
    if (principals.length) await tx.rolePrincipal.createMany({ data: principals.map((p) => ({ roleId: row.id, kind: p.kind, value: p.value })) });
    const grants = role.grants.map((g) => ({ roleId: row.id, portalId: portalIds.get(g.portal)!, serverSlug: g.server, toolName: g.tool, riskClasses: g.riskClasses }));
    if (grants.length) await tx.roleGrant.createMany({ data: grants });
    for (const p of principals) if (p.kind === "service_account" && accountByClient.has(p.value) && !wantedRole.has(p.value)) wantedRole.set(p.value, row.id);
  }
  for (const account of accounts) {
    if (account.disabledAt) continue;
    const roleId = wantedRole.get(account.clientId) ?? null;
    if (account.portalRoleId !== roleId) await tx.serviceAccount.update({ where: { id: account.id }, data: { portalRoleId: roleId } });
  }
  await applyDlp(tx, doc);
  if (mode === "rollback") report.kept.push(...NEVER_ROLLED_BACK);
  const unrecorded = unrecordedFields(doc);
  if (unrecorded.length) report.kept.push(`${what[0]!.toUpperCase()}${what.slice(1)} does not say ${unrecorded.join(", ")}: they stay as they are now`);
  return report;
}

/** Fields a document may leave out (older versions, hand-written imports), in words. */
function unrecordedFields(doc: ConfigDocument): string[] {
  const out: string[] = [];
  if (doc.dlpPatterns === undefined) out.push("the DLP patterns");
  if (doc.portals.some((p) => p.dlp === undefined)) out.push("portals' DLP settings");
  if (doc.portals.some((p) => p.dropServerPrefix === undefined)) out.push("whether portals drop prompt prefixes");
  if (doc.servers.some((s) => s.allowSampling === undefined || s.allowElicitation === undefined)) out.push("servers' sampling and elicitation switches");
  if (doc.roles.some((r) => r.perCallRiskClasses === undefined || r.stepUpMaxMinutes === undefined || r.stepUpApprovers === undefined)) out.push("roles' step-up approval settings");
  return out;
}

/**
 * DLP lives in one setting (lib/server/dlp-policy.ts): patterns as the document says, each listed
 * portal's settings as it says, and nothing kept for portals the document no longer has.
 */
async function applyDlp(tx: Tx, doc: ConfigDocument): Promise<void> {
  const before = await readDlpPolicy(tx);
  const listed = new Set(doc.portals.map((p) => p.slug));
  const portals: DlpPolicy["portals"] = {};
  for (const [slug, settings] of Object.entries(before.portals)) if (listed.has(slug)) portals[slug] = settings;
  for (const portal of doc.portals) {
    if (portal.dlp === undefined) continue;
    // The default is no entry, as a portal nobody configured has: the snapshot then says the same.
    if (isDefaultDlp(portal.dlp)) delete portals[portal.slug];
    else portals[portal.slug] = portal.dlp;
  }
  const patterns = doc.dlpPatterns ?? before.patterns;
  const after: DlpPolicy = { patterns, portals };
  if (canonicalJson(after) === canonicalJson(before)) return;
  const value = after as unknown as Prisma.InputJsonValue;
  await tx.setting.upsert({ where: { key: DLP_SETTING }, create: { key: DLP_SETTING, value }, update: { value } });
}

/** Thrown to undo a dry run's transaction while handing its result out. */
export class DryRunResult<T> extends Error {
  constructor(readonly value: T) {
    super("dry run");
  }
}

/** Runs `work` in a transaction that is always rolled back, and returns what it computed. */
export async function dryRun<T>(db: { $transaction: <R>(fn: (tx: Tx) => Promise<R>, options?: { maxWait?: number; timeout?: number }) => Promise<R> }, work: (tx: Tx) => Promise<T>): Promise<T> {
  try {
    await db.$transaction(async (tx) => {
      throw new DryRunResult(await work(tx));
    }, { maxWait: 10_000, timeout: 30_000 });
  } catch (error) {
    if (error instanceof DryRunResult) return error.value as T;
    throw error;
  }
  throw new AppError("internal", "A dry run did not finish");
}
