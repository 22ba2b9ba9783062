import { canonicalJson } from "@/lib/audit/event";
import { formatUtcText } from "@/lib/format";

/**
 * What changed between two config snapshots, by entity (portal, server in a portal, tool, role,
 * revocation, and any top-level field this code does not know yet), in words and as field-level
 * JSON changes. Pure; works on the stored JSON rather than the parsed snapshot so that fields a
 * newer control plane added (which the schema would strip) still show.
 *
 * Secrets never appear: a sealed credential is replaced by a marker, and whether it changed is
 * decided by `isSameSecret` (the caller opens both; by default two sealings are compared as text,
 * which reports a change on every reseal).
 */

export type ChangeKind = "added" | "removed" | "changed";
export type FieldChange = { path: string; before: unknown; after: unknown };
export type EntityChange = {
  entity: string;
  /** Stable, readable key: `finops`, `finops/billing`, `finops/billing/get_costs`, a role slug. */
  key: string;
  change: ChangeKind;
  /** One sentence per change, for people. */
  words: string[];
  /** The JSON diff: each leaf that differs (whole entity for added/removed), secrets masked. */
  fields: FieldChange[];
};

export type DiffOptions = {
  isSameSecret?: (a: string, b: string) => boolean;
  /**
   * Who a principal is, for people: a user's email, a service account's name. `kind` is `user`,
   * `service_account` or `client` (a client id: a service account's or an OAuth client's). Without
   * it, or when it does not know the id, the id itself is shown.
   */
  principalLabel?: (kind: string, id: string) => string | undefined;
};

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const arr = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown) => (typeof v === "string" ? v : String(v));
const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

export const SECRET_MARKER = "[sealed secret]";

/** A credential as it may be shown: kind, header and reference, never the sealed value. */
function maskCredential(credential: unknown): unknown {
  if (!isObj(credential)) return credential;
  const { sealed, ...rest } = credential;
  return sealed === undefined ? rest : { ...rest, secret: SECRET_MARKER };
}

function maskServer(server: Obj): Obj {
  const rest = Object.fromEntries(Object.entries(server).filter(([k]) => k !== "tools"));
  return { ...rest, credential: maskCredential(server.credential) };
}

/** `user manager@example.com`, `service account Nightly export`; the id when no name is known. */
function principalWords(kind: string, id: string, options: DiffOptions): string {
  const label = options.principalLabel?.(kind, id);
  const noun = kind === "service_account" ? "service account" : kind;
  return `${noun} ${label ?? id}`;
}

/** A grant's end, to the minute, in UTC (the same for every reader of the history). */
function when(value: unknown): string {
  const date = new Date(str(value));
  return Number.isNaN(date.getTime()) ? str(value) : formatUtcText(date);
}

/** What a revocation entry ends, by its kind (see `revocationKinds`). */
function revokedWhat(r: Obj, options: DiffOptions): string {
  const id = str(r.id);
  switch (r.kind) {
    case "subject":
      return `the tokens of ${principalWords("user", id, options)}`;
    case "client": {
      const label = options.principalLabel?.("client", id);
      return `the tokens of client ${label ?? id}`;
    }
    case "grant":
      return "a connected client's OAuth grant";
    case "token":
      return `token ${id}`;
    case "secret":
      return "a service account secret";
    default:
      return `${str(r.kind)} ${id}`;
  }
}

/** Leaf differences between two JSON values; arrays are leaves (their words come from the caller). */
export function fieldChanges(before: unknown, after: unknown, path = ""): FieldChange[] {
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => fieldChanges(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return same(before, after) ? [] : [{ path, before: before ?? null, after: after ?? null }];
}

const short = (value: unknown): string => {
  const text = typeof value === "string" ? `"${value}"` : canonicalJson(value ?? null);
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
};

const LONG_FIELDS = new Set(["description", "inputSchema", "outputSchema", "annotations", "definitionHash"]);

function describeField(f: FieldChange): string {
  const root = f.path.split(".")[0]!;
  if (f.path === "credential.secret") return "its secret changed";
  if (LONG_FIELDS.has(root)) return `${f.path} changed`;
  if (Array.isArray(f.before) || Array.isArray(f.after)) {
    const b = (Array.isArray(f.before) ? f.before : []).map((x) => canonicalJson(x));
    const a = (Array.isArray(f.after) ? f.after : []).map((x) => canonicalJson(x));
    const added = a.filter((x) => !b.includes(x));
    const removed = b.filter((x) => !a.includes(x));
    const parts = [...(added.length ? [`added ${added.map(readable).join(", ")}`] : []), ...(removed.length ? [`removed ${removed.map(readable).join(", ")}`] : [])];
    return `${f.path}: ${parts.join("; ") || "reordered"}`;
  }
  return `${f.path} ${short(f.before)} → ${short(f.after)}`;
}

/** `{"kind":"group","value":"finops"}` reads as `group finops`; anything else as short JSON. */
function readable(json: string): string {
  const value = JSON.parse(json) as unknown;
  if (isObj(value)) {
    if (typeof value.kind === "string" && typeof value.value === "string") return `${value.kind} ${value.value}`;
    if ("portalSlug" in value) {
      const scope = [value.portalSlug, value.serverSlug ?? "every server", value.toolName ?? "every tool"].map(str).join("/");
      return `${scope} (${Array.isArray(value.riskClasses) ? value.riskClasses.join(", ") : ""})`;
    }
  }
  return short(value);
}

function keyed(items: Obj[], key: (o: Obj) => string): Map<string, Obj> {
  return new Map(items.map((o) => [key(o), o]));
}

function diffKeyed(
  entity: string,
  label: (key: string, o: Obj) => string,
  before: Map<string, Obj>,
  after: Map<string, Obj>,
  mask: (o: Obj) => Obj,
  options: DiffOptions,
): EntityChange[] {
  const out: EntityChange[] = [];
  for (const key of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const b = before.get(key);
    const a = after.get(key);
    if (!b && a) out.push({ entity, key, change: "added", words: [`${label(key, a)} added`], fields: [{ path: "", before: null, after: mask(a) }] });
    else if (b && !a) out.push({ entity, key, change: "removed", words: [`${label(key, b)} removed`], fields: [{ path: "", before: mask(b), after: null }] });
    else if (a && b) {
      let fields = fieldChanges(mask(b), mask(a));
      const sb = isObj(b.credential) ? b.credential.sealed : undefined;
      const sa = isObj(a.credential) ? a.credential.sealed : undefined;
      if (typeof sb === "string" && typeof sa === "string" && sb !== sa) {
        const isSame = options.isSameSecret ? options.isSameSecret(sb, sa) : false;
        if (!isSame) fields = [...fields, { path: "credential.secret", before: SECRET_MARKER, after: SECRET_MARKER }];
      }
      if (fields.length) out.push({ entity, key, change: "changed", words: fields.map((f) => `${label(key, a)}: ${describeField(f)}`), fields });
    }
  }
  return out;
}

const KNOWN = new Set(["version", "createdAt", "portals", "roles", "revocations", "dlpPatterns", "elevatedGrants"]);

/** Differences from `before` to `after`. Either may be null (nothing: everything added or removed). */
export function diffSnapshots(before: unknown, after: unknown, options: DiffOptions = {}): EntityChange[] {
  const b = isObj(before) ? before : {};
  const a = isObj(after) ? after : {};
  const changes: EntityChange[] = [];

  const portalsB = keyed(arr(b.portals), (p) => str(p.slug));
  const portalsA = keyed(arr(a.portals), (p) => str(p.slug));
  const portalOnly = (p: Obj) => ({ name: p.name, allowlistMode: p.allowlistMode, ...Object.fromEntries(Object.entries(p).filter(([k]) => !["slug", "name", "allowlistMode", "servers"].includes(k))) });
  changes.push(...diffKeyed("portal", (k) => `Portal ${k}`, portalsB, portalsA, portalOnly, options));

  const serversOf = (portals: Map<string, Obj>) =>
    new Map([...portals].flatMap(([slug, p]) => arr(p.servers).map((s): [string, Obj] => [`${slug}/${str(s.slug)}`, s])));
  const serversB = serversOf(portalsB);
  const serversA = serversOf(portalsA);
  changes.push(
    ...diffKeyed("server", (k) => `Server ${k.split("/")[1]} in portal ${k.split("/")[0]}`, serversB, serversA, maskServer, options),
  );

  const toolsOf = (servers: Map<string, Obj>) =>
    new Map([...servers].flatMap(([key, s]) => arr(s.tools).map((t): [string, Obj] => [`${key}/${str(t.name)}`, t])));
  const toolLabel = (key: string, t: Obj) => {
    const [portal, server] = key.split("/");
    return `Tool ${str(t.exposedName ?? t.name)} (${server}) in portal ${portal}`;
  };
  const toolChanges = diffKeyed("tool", toolLabel, toolsOf(serversB), toolsOf(serversA), (t) => t, options).map((c) =>
    // Absent from a snapshot means "not offered": switched off, server off, quarantined or gone.
    c.change === "removed" ? { ...c, words: c.words.map((w) => w.replace(/ removed$/, " no longer offered")) } : c.change === "added" ? { ...c, words: c.words.map((w) => w.replace(/ added$/, " now offered")) } : c,
  );
  changes.push(...toolChanges);

  const roleName = (k: string, r: Obj) => `Role ${str(r.name ?? k)}`;
  changes.push(...diffKeyed("role", roleName, keyed(arr(b.roles), (r) => str(r.slug)), keyed(arr(a.roles), (r) => str(r.slug)), (r) => r, options));

  // An entry's identifier is `id` (lib/config/revocations.ts); reading `value` keyed every entry
  // as "<kind>:undefined", so two revocations of one kind hid each other.
  const revocationKey = (r: Obj) => `${str(r.kind)}:${str(r.id)}`;
  const revocationLabel = (_: string, r: Obj) => `Revocation of ${revokedWhat(r, options)}${typeof r.reason === "string" ? ` (${r.reason})` : ""}`;
  changes.push(
    ...diffKeyed("revocation", revocationLabel, keyed(arr(b.revocations), revocationKey), keyed(arr(a.revocations), revocationKey), (r) => r, options),
  );

  changes.push(
    ...diffKeyed("dlp pattern", (k, p) => `DLP pattern ${str(p.name ?? k)}`, keyed(arr(b.dlpPatterns), (p) => str(p.id)), keyed(arr(a.dlpPatterns), (p) => str(p.id)), (p) => p, options),
  );
  // Only a grant bound to arguments is for one call; a window grant names the tool it was asked
  // for too, but covers the risk class until it ends.
  const grantLabel = (_: string, g: Obj) => {
    const who = principalWords(str(g.principalKind), str(g.subject), options);
    const scope = typeof g.argumentsHash === "string" ? `for one call of ${str(g.serverSlug)}/${str(g.toolName)}` : `until ${when(g.endsAt)}`;
    return `Step-up grant of ${str(g.riskClass)} access to ${who} on portal ${str(g.portalSlug)} ${scope}`;
  };
  changes.push(...diffKeyed("step-up grant", grantLabel, keyed(arr(b.elevatedGrants), (g) => str(g.id)), keyed(arr(a.elevatedGrants), (g) => str(g.id)), (g) => g, options));

  // Fields this code does not know (added by a newer feature): keyed by slug/id when they are
  // lists of objects, else compared whole.
  for (const field of [...new Set([...Object.keys(b), ...Object.keys(a)])].filter((k) => !KNOWN.has(k)).sort()) {
    const vb = b[field];
    const va = a[field];
    if (same(vb, va)) continue;
    const list = [vb, va].every((v) => v === undefined || Array.isArray(v)) && [...arr(vb), ...arr(va)].length > 0;
    const idKey = list ? ["slug", "id", "name"].find((k) => [...arr(vb), ...arr(va)].every((o) => typeof o[k] === "string")) : undefined;
    if (idKey) {
      changes.push(...diffKeyed(field, (k) => `${field} ${k}`, keyed(arr(vb), (o) => str(o[idKey])), keyed(arr(va), (o) => str(o[idKey])), (o) => o, options));
    } else {
      const change: ChangeKind = vb === undefined ? "added" : va === undefined ? "removed" : "changed";
      const fields = fieldChanges(vb, va);
      changes.push({ entity: field, key: field, change, words: fields.map((f) => `${field}${f.path ? `.${f.path}` : ""} changed`), fields: fields.map((f) => ({ ...f, path: f.path ? `${field}.${f.path}` : field })) });
    }
  }
  return changes;
}

/** Role fields a stored config document holds that snapshots do not (gateways never need them). */
const DOCUMENT_ONLY_ROLE_FIELDS = ["perCallRiskClasses", "stepUpMaxMinutes", "stepUpApprovers"] as const;

/**
 * What changed between two stored config documents (lib/config/document.ts) that the snapshots
 * cannot show: a role's step-up approval settings (per-call classes, longest window, approvers).
 * Merged into the snapshot diff by `withDocumentChanges`. Either side may be null (not recorded):
 * then nothing is said, rather than a guess.
 */
export function diffDocuments(before: unknown, after: unknown): EntityChange[] {
  if (!isObj(before) || !isObj(after)) return [];
  const pick = (r: Obj) => Object.fromEntries(DOCUMENT_ONLY_ROLE_FIELDS.filter((f) => r[f] !== undefined).map((f) => [f, r[f]]));
  const rb = keyed(arr(before.roles), (r) => str(r.slug));
  const ra = keyed(arr(after.roles), (r) => str(r.slug));
  const out: EntityChange[] = [];
  for (const [slug, a] of ra) {
    const b = rb.get(slug);
    if (!b) continue;
    const pb = pick(b);
    const pa = pick(a);
    // A field one side did not record (an older version) is not a change.
    const fields = fieldChanges(pb, pa).filter((f) => f.path in pb && f.path in pa);
    if (fields.length) out.push({ entity: "role", key: slug, change: "changed", words: fields.map((f) => `Role ${str(a.name ?? slug)}: ${describeField(f)}`), fields });
  }
  return out;
}

/** The snapshot diff with the document-only changes folded into the same entities. */
export function withDocumentChanges(changes: EntityChange[], documentChanges: EntityChange[]): EntityChange[] {
  const out = changes.map((c) => ({ ...c }));
  for (const extra of documentChanges) {
    const existing = out.find((c) => c.entity === extra.entity && c.key === extra.key);
    if (!existing) out.push(extra);
    else if (existing.change === "changed") {
      existing.words = [...existing.words, ...extra.words];
      existing.fields = [...existing.fields, ...extra.fields];
    }
  }
  return out;
}

/** Counts for a heading: "3 changes: 1 added, 2 changed". */
export function summarizeDiff(changes: EntityChange[]): string {
  if (changes.length === 0) return "No differences";
  const count = (k: ChangeKind) => changes.filter((c) => c.change === k).length;
  const parts = (["added", "removed", "changed"] as const).filter((k) => count(k) > 0).map((k) => `${count(k)} ${k}`);
  return `${changes.length} change${changes.length === 1 ? "" : "s"}: ${parts.join(", ")}`;
}
