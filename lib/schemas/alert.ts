import { z } from "zod";
import { severities } from "@/lib/alerts/rules";
import { text } from "./common";

export const alertStatuses = ["open", "acknowledged", "resolved"] as const;

export const listAlertsParams = z.object({
  cursor: text().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  status: z.enum(alertStatuses).optional(),
  severity: z.enum(severities).optional(),
});
export type ListAlertsParams = z.infer<typeof listAlertsParams>;

const note = text().trim().max(2000, "At most 2000 characters");

export const acknowledgeAlertInput = z.object({ note: note.optional() }).strict();
export const resolveAlertInput = z.object({ note: note.optional() }).strict();
export const snoozeAlertInput = z.object({ minutes: z.number().int().min(5, "At least 5 minutes").max(10_080, "At most 7 days") }).strict();

const secretRef = text()
  .trim()
  .max(500)
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, "Use env:NAME or file:/path");

const channelBase = {
  name: text().trim().min(1, "Required").max(100, "At most 100 characters"),
  enabled: z.boolean().default(true),
  minSeverity: z.enum(severities).default("high"),
};

const httpUrl = text()
  .trim()
  .max(2048)
  .pipe(z.url({ protocol: /^https?$/, message: "Use an http:// or https:// URL" }));

export const createAlertChannelInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("webhook"), ...channelBase, url: httpUrl, secret: text().min(16, "At least 16 characters").max(200).optional() }).strict(),
  z.object({ kind: z.literal("slack"), ...channelBase, url: httpUrl }).strict(),
  z
    .object({
      kind: z.literal("email"),
      ...channelBase,
      host: text().trim().min(1, "Required").max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, "Not a host name"),
      port: z.number().int().min(1).max(65_535),
      startTls: z.boolean().default(true),
      username: text().trim().max(320).optional(),
      passwordRef: secretRef.optional(),
      from: z.email("Not an e-mail address").max(320),
      to: z.array(z.email("Not an e-mail address").max(320)).min(1, "At least one recipient").max(20),
    })
    .strict(),
]);
export type CreateAlertChannelInput = z.infer<typeof createAlertChannelInput>;

export const updateAlertChannelInput = z
  .object({ enabled: z.boolean().optional(), minSeverity: z.enum(severities).optional(), name: channelBase.name.optional() })
  .strict();

export type AlertView = {
  id: string;
  ruleId: string;
  ruleName: string;
  subject: string;
  status: (typeof alertStatuses)[number];
  severity: (typeof severities)[number];
  title: string;
  count: number;
  firstSeenAt: string;
  lastSeenAt: string;
  snoozedUntil: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  note: string | null;
  resolvedAt: string | null;
  resolvedBy: string | null;
  auditHref: string;
};

export type AlertDetail = AlertView & {
  occurrences: { id: string; eventId: string | null; time: string; detail: unknown }[];
  deliveries: { id: string; channel: string; status: string; reason: string; attempts: number; lastError: string | null; sentAt: string | null; createdAt: string }[];
};

export type AlertRuleView = {
  id: string;
  key: string;
  detector: string;
  name: string;
  description: string;
  severity: (typeof severities)[number];
  enabled: boolean;
  params: Record<string, unknown>;
  scope: Record<string, string>;
  throttleMinutes: number;
  openAlerts: number;
  /** Seeded rules can be turned off but not deleted. */
  isBuiltIn: boolean;
};

export type AlertChannelView = {
  id: string;
  name: string;
  kind: "webhook" | "slack" | "email";
  enabled: boolean;
  minSeverity: (typeof severities)[number];
  /** The URL's origin only for webhooks (a Slack URL is itself a secret); SMTP settings without the password. */
  target: string;
  hasSecret: boolean;
  lastDelivery: { status: string; lastError: string | null; at: string } | null;
};
