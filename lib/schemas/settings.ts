import { z } from "zod";
import { text } from "./common";

/** A DNS name (no scheme, port or path), lower-cased; `*.` in front allows its subdomains. */
const domainPattern = text()
  .trim()
  .toLowerCase()
  .regex(/^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/, "Use a domain name such as claude.ai or *.example.com");

/** Each setting's type, without defaults: what a change may hold. */
/** Days a retention class is kept, with messages an admin can act on (not "expected int, received number"). */
const retentionDays = () =>
  z
    .number({ error: "Enter a number of days" })
    .int("Whole days only")
    .min(1, "Keep at least 1 day")
    .max(36_500, "At most 36,500 days (100 years)");

const settingFields = {
  /** Lets admins register upstreams on link-local or cloud-metadata addresses (off: SSRF guard). */
  allowPrivateTargets: z.boolean(),
  /** RFC 7591 dynamic client registration at the authorization server's `/oauth/reg`. */
  oauthDynamicRegistration: z.boolean(),
  /** Client ID Metadata Documents are fetched only from these domains; empty means any public https host. */
  oauthCimdDomains: z.array(domainPattern).max(100),
  /** Lets CIMD documents be fetched from private, loopback or link-local addresses (off: SSRF guard). */
  oauthCimdAllowPrivate: z.boolean(),
  /** Lifetime of the access tokens people's MCP clients get. */
  oauthAccessTokenMinutes: z.number().int().min(1).max(60),
  /** Lifetime of a refresh token; each use rotates it and starts a new one. */
  oauthRefreshTokenDays: z.number().int().min(1).max(90),
  /** Where a new step-up request is announced to approvers (Slack-compatible JSON, HMAC-signed); null: nowhere. */
  approverWebhookUrl: text()
    .trim()
    .max(2000, "At most 2000 characters")
    .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), "Use an http:// or https:// URL")
    .nullable(),
  /** The webhook's HMAC secret as a reference (env:NAME or file:/path), never the secret itself; null: unsigned. */
  approverWebhookSecretRef: text()
    .trim()
    .regex(/^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/[^\0]{1,500})$/, "Use env:NAME or file:/path")
    .nullable(),
  /** Retention per data class (lib/server/audit-retention.ts): MCP arguments and results… */
  retentionPayloadDays: retentionDays(),
  /** …MCP request metadata (mcp.* events)… */
  retentionMcpDays: retentionDays(),
  /** …sign-in and token events (auth.*)… */
  retentionAuthDays: retentionDays(),
  /** …and everything else: config changes, step-up decisions, alerts, the log's own events. */
  retentionGovernanceDays: retentionDays(),
};

export const settingsSchema = z.object({
  allowPrivateTargets: settingFields.allowPrivateTargets.default(false),
  oauthDynamicRegistration: settingFields.oauthDynamicRegistration.default(true),
  oauthCimdDomains: settingFields.oauthCimdDomains.default([]),
  oauthCimdAllowPrivate: settingFields.oauthCimdAllowPrivate.default(false),
  oauthAccessTokenMinutes: settingFields.oauthAccessTokenMinutes.default(15),
  oauthRefreshTokenDays: settingFields.oauthRefreshTokenDays.default(30),
  approverWebhookUrl: settingFields.approverWebhookUrl.default(null),
  approverWebhookSecretRef: settingFields.approverWebhookSecretRef.default(null),
  retentionPayloadDays: settingFields.retentionPayloadDays.default(30),
  retentionMcpDays: settingFields.retentionMcpDays.default(400),
  retentionAuthDays: settingFields.retentionAuthDays.default(400),
  // Seven years, the longest SOX retention auditors ask for.
  retentionGovernanceDays: settingFields.retentionGovernanceDays.default(2557),
});
export type Settings = z.infer<typeof settingsSchema>;

// No defaults here: a change names only what it changes (a partial of the schema above would fill
// every missing setting with its default and overwrite it).
export const updateSettingsInput = z
  .strictObject(settingFields)
  .partial()
  .refine((v) => Object.keys(v).length > 0, "Nothing to update");
