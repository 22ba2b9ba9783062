import ipaddr from "ipaddr.js";
import { z } from "zod";
import { text } from "./common";
import { trafficRangeValues } from "./dashboard";

/**
 * The explorer's time presets: the overview's ranges (so a range picked there means the same here,
 * 6h included) and a custom one.
 */
export const AUDIT_RANGES = [...trafficRangeValues, "custom"] as const;
export type AuditPresetRange = (typeof trafficRangeValues)[number];
export const AUDIT_RANGE_MS: Record<AuditPresetRange, number> = {
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

/**
 * Which order a page of the explorer is in: "seq" (the order the log recorded the events, the
 * chain's order) or "time" (event time). Seq by default: it is what keeps pages fast at 10M events,
 * and it differs from event time when a gateway delivers spooled events late. A custom range (from/to
 * without a preset), and oldest first within a preset, read by time (lib/server/audit-events.ts).
 */
export function auditPageOrder(params: { range?: string; from?: string; to?: string; order?: string }): "seq" | "time" {
  const isPreset = params.range !== undefined && params.range !== "custom";
  return (!isPreset && (params.from || params.to)) || (isPreset && params.order === "asc") ? "time" : "seq";
}

const isIpOrCidr = (value: string) => {
  if (value.includes("/")) return ipaddr.isValidCIDR(value);
  return ipaddr.isValid(value);
};

/**
 * The explorer's filters: every one optional, all combined with AND, all plain strings so they
 * live in the URL as they are. The list, the facet counts and both exports read the same object.
 */
export const auditFilterParams = z.object({
  range: z.enum(AUDIT_RANGES).optional(),
  /** Custom range bounds (ISO instants; the browser converts from the viewer's zone). */
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  kind: text().max(64).optional(),
  /** The start of an email, client id or label (case-insensitive), or an exact actor id. */
  actor: text().max(320).optional(),
  actorType: z.enum(["user", "service_account", "api_token", "system", "anonymous"]).optional(),
  portal: text().max(128).optional(),
  server: text().max(128).optional(),
  tool: text().max(256).optional(),
  outcome: z.enum(["allow", "deny", "success", "failure"]).optional(),
  /** A deny rule or reason: substring of any of the event's reasons. */
  rule: text().trim().max(200).optional(),
  /** The step-up grant an event used (data.grantId). */
  grant: text().trim().max(200).optional(),
  /** An address or a CIDR block. */
  ip: text().trim().max(64).refine(isIpOrCidr, "Not an IP address or CIDR block").optional(),
  /** The upstream's outcome as the gateway recorded it (success, error, timeout, cancelled, not_called…). */
  upstream: text().max(64).optional(),
  /** A DLP detector that matched (data.dlp[].detector). */
  dlp: text().max(64).optional(),
  session: text().max(200).optional(),
  requestId: text().max(128).optional(),
  /** Free text over the action, reasons and target. */
  q: text().trim().max(200).optional(),
});
export type AuditFilterParams = z.infer<typeof auditFilterParams>;
export type AuditFilterParamKey = keyof AuditFilterParams;
/** Every filter's URL param, in the order the explorer shows them. */
export const AUDIT_FILTER_KEYS = Object.keys(auditFilterParams.shape) as AuditFilterParamKey[];

export const listAuditParams = auditFilterParams.extend({
  cursor: text().regex(/^\d{1,20}$/, "Not a valid cursor").optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  /** desc: newest first (default); asc: oldest first. */
  order: z.enum(["asc", "desc"]).default("desc"),
});
export type ListAuditParams = z.infer<typeof listAuditParams>;

export const exportAuditParams = auditFilterParams.extend({
  format: z.enum(["csv", "jsonl"]).default("jsonl"),
  order: z.enum(["asc", "desc"]).default("asc"),
});

export const AUDIT_FACETS = ["kind", "outcome", "portal", "tool"] as const;
export type AuditFacet = (typeof AUDIT_FACETS)[number];
/**
 * Facet counts. At scale they count the newest `AUDIT_FACET_WINDOW` events that match (never a
 * full scan of millions of rows per keystroke); `window` is that number when a facet's matches
 * went past it, so the UI says the counts cover only the newest events, and null when every count
 * is exact. Under a free-text search no index finds the matches: the counts cover the matches
 * among the newest `AUDIT_FACET_TEXT_SCAN` events that pass the other filters, and `searched` is
 * that number when the search stopped there (null when it read every candidate).
 */
export type AuditFacets = Record<AuditFacet, Array<{ value: string; count: number }>> & { window: number | null; searched: number | null };
export const AUDIT_FACET_WINDOW = 20_000;
export const AUDIT_FACET_TEXT_SCAN = 50_000;

export type AuditEventView = {
  id: string;
  seq: string;
  time: string;
  kind: string;
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  outcome: string;
  targetType: string | null;
  targetId: string | null;
  portal: string | null;
  server: string | null;
  tool: string | null;
  reasons: string[] | null;
  data: unknown;
  sourceIp: string | null;
  requestId: string | null;
  /** The target record's current name (server, portal, alert; a person's email), when the page could look it up. */
  targetName?: string;
  /** A service account's name where the event labels it by its client id (gateway events): one name per actor on the dashboard. */
  actorName?: string;
  /** True when this reader may not see arguments and results (they were removed, not absent). */
  payloadsHidden?: boolean;
};
