import type { BadgeVariant } from "@/components/ui/badge";
import type { RiskClass } from "@/lib/schemas/common";
import { riskClasses } from "@/lib/schemas/common";
import type { ServerView, StatusDetail } from "@/lib/schemas/server";
import { slugify as slugifyTo } from "@/lib/slugify";

// Plain module (no "use client"): the server pages import the list params from here too, so that
// the first paint and the client query agree on the same query key.

export type ServerStatus = ServerView["status"];
export type Transport = ServerView["transport"];

export const STATUS_META: Record<ServerStatus, { label: string; variant: BadgeVariant; hint: string }> = {
  waiting: { label: "Waiting", variant: "info", hint: "Not synced yet" },
  ready: { label: "Ready", variant: "success", hint: "Last sync succeeded" },
  error: { label: "Error", variant: "destructive", hint: "Last sync failed" },
  stale: { label: "Stale", variant: "warning", hint: "Connection settings changed since the last sync" },
};

export const STATUS_OPTIONS = (Object.keys(STATUS_META) as ServerStatus[]).map((value) => ({ value, label: STATUS_META[value].label }));

export const TRANSPORT_LABELS: Record<Transport, string> = {
  streamable_http: "Streamable HTTP",
  sse: "SSE (legacy)",
};

export const RISK_META: Record<RiskClass, { label: string; variant: BadgeVariant }> = {
  read: { label: "Read", variant: "secondary" },
  write: { label: "Write", variant: "info" },
  destructive: { label: "Destructive", variant: "destructive" },
  financial: { label: "Financial", variant: "warning" },
};

export const RISK_OPTIONS = riskClasses.map((value) => ({ value, label: RISK_META[value].label }));

export const SERVERS_PAGE_SIZE = 25;

export type ServerListParams = { q?: string; status?: ServerStatus; cursor?: string; limit: number };

/** The API params for one view of the list, from URL search params (unknown values dropped). */
export function serverListParams(search: Record<string, string | string[] | undefined>): ServerListParams {
  const one = (key: string) => {
    const value = search[key];
    const first = Array.isArray(value) ? value[0] : value;
    return first?.trim() ? first.trim() : undefined;
  };
  const status = one("status");
  const cursor = one("cursor");
  // The API's own bounds: a longer value would be a validation error instead of a page.
  return {
    q: one("q")?.slice(0, 200),
    status: status && Object.hasOwn(STATUS_META, status) ? (status as ServerStatus) : undefined,
    cursor: cursor && cursor.length <= 200 ? cursor : undefined,
    limit: SERVERS_PAGE_SIZE,
  };
}

/** A slug suggestion from a display name; the result still goes through the slug schema. */
export const slugify = (name: string) => slugifyTo(name, 24);

/** "HTTP 502 · MCP error -32603", or null when the detail carries neither. */
export function statusCodes(detail: StatusDetail): string | null {
  const parts = [detail.httpStatus !== undefined ? `HTTP ${detail.httpStatus}` : null, detail.mcpCode !== undefined ? `MCP error ${detail.mcpCode}` : null];
  const text = parts.filter(Boolean).join(" · ");
  return text || null;
}

export type AnnotationHint = { key: string; label: string; variant: BadgeVariant };

/** Only hints the upstream states explicitly: MCP's defaults are guesses, not claims. */
export function annotationHints(annotations: unknown): AnnotationHint[] {
  if (!annotations || typeof annotations !== "object") return [];
  const a = annotations as Record<string, unknown>;
  const hints: AnnotationHint[] = [];
  if (a.readOnlyHint === true) hints.push({ key: "readOnly", label: "read-only", variant: "success" });
  if (a.destructiveHint === true && a.readOnlyHint !== true) hints.push({ key: "destructive", label: "destructive", variant: "destructive" });
  if (a.idempotentHint === true) hints.push({ key: "idempotent", label: "idempotent", variant: "outline" });
  if (a.openWorldHint === true) hints.push({ key: "openWorld", label: "open world", variant: "outline" });
  return hints;
}

/** What `POST /servers/:id/sync` answers; counts may come as numbers or as lists of names. */
export type SyncResult = {
  server: ServerView;
  added: number | unknown[];
  changed: number | unknown[];
  removed: number | unknown[];
  unchanged: number | unknown[];
  error: string | { message?: string } | null;
};

const countOf = (value: number | unknown[] | undefined) => (typeof value === "number" ? value : Array.isArray(value) ? value.length : 0);

export function syncSummary(result: SyncResult): string {
  const parts = (["added", "changed", "removed"] as const).filter((key) => countOf(result[key]) > 0).map((key) => `${countOf(result[key])} ${key}`);
  if (parts.length > 0) return parts.join(", ");
  const unchanged = countOf(result.unchanged);
  return unchanged > 0 ? `No changes (${unchanged} ${unchanged === 1 ? "tool" : "tools"} unchanged)` : "No changes";
}

export function syncErrorMessage(result: SyncResult): string | null {
  const { error } = result;
  if (!error) return null;
  if (typeof error === "string") return error;
  return error.message || result.server.statusDetail?.message || "The sync failed";
}

export type ServerDetailView = ServerView & { prompts: unknown; resources: unknown; serverInfo: unknown };

export type PromptItem = { name: string; title?: string; description?: string; arguments: { name: string; description?: string; required?: boolean }[] };
export type ResourceItem = { uri: string; name: string; title?: string; description?: string; mimeType?: string };
export type ServerInfo = { name?: string; title?: string; version?: string; protocolVersion?: string; instructions?: string };

const str = (value: unknown) => (typeof value === "string" && value ? value : undefined);
const records = (value: unknown) => (Array.isArray(value) ? value.filter((v): v is Record<string, unknown> => Boolean(v) && typeof v === "object") : []);

export function readPrompts(value: unknown): PromptItem[] {
  return records(value).map((p, index) => ({
    name: str(p.name) ?? `prompt-${index + 1}`,
    title: str(p.title),
    description: str(p.description),
    arguments: records(p.arguments).map((arg, argIndex) => ({
      name: str(arg.name) ?? `arg${argIndex + 1}`,
      description: str(arg.description),
      required: arg.required === true,
    })),
  }));
}

export function readResources(value: unknown): ResourceItem[] {
  return records(value).map((r, index) => ({
    uri: str(r.uri) ?? str(r.uriTemplate) ?? "",
    name: str(r.name) ?? str(r.uri) ?? `resource-${index + 1}`,
    title: str(r.title),
    description: str(r.description),
    mimeType: str(r.mimeType),
  }));
}

export function readServerInfo(value: unknown): ServerInfo | null {
  if (!value || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  // Accept both a flat `{ name, version, protocolVersion }` and the initialize result's shape.
  const nested = v.serverInfo && typeof v.serverInfo === "object" ? (v.serverInfo as Record<string, unknown>) : v;
  return {
    name: str(nested.name),
    title: str(nested.title),
    version: str(nested.version),
    protocolVersion: str(v.protocolVersion) ?? str(nested.protocolVersion),
    instructions: str(v.instructions),
  };
}
