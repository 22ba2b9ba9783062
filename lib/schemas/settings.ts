import { z } from "zod";

/** A DNS name (no scheme, port or path), lower-cased; `*.` in front allows its subdomains. */
const domainPattern = z
  .string()
  .trim()
  .toLowerCase()
  .regex(/^(\*\.)?(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/, "Use a domain name such as claude.ai or *.example.com");

export const settingsSchema = z.object({
  /** Lets admins register upstreams on link-local or cloud-metadata addresses (off: SSRF guard). */
  allowPrivateTargets: z.boolean().default(false),
  /** RFC 7591 dynamic client registration at the authorization server's `/oauth/reg`. */
  oauthDynamicRegistration: z.boolean().default(true),
  /** Client ID Metadata Documents are fetched only from these domains; empty means any public https host. */
  oauthCimdDomains: z.array(domainPattern).max(100).default([]),
  /** Lets CIMD documents be fetched from private, loopback or link-local addresses (off: SSRF guard). */
  oauthCimdAllowPrivate: z.boolean().default(false),
  /** Lifetime of the access tokens people's MCP clients get. */
  oauthAccessTokenMinutes: z.number().int().min(1).max(60).default(15),
  /** Lifetime of a refresh token; each use rotates it and starts a new one. */
  oauthRefreshTokenDays: z.number().int().min(1).max(90).default(30),
});
export type Settings = z.infer<typeof settingsSchema>;

export const updateSettingsInput = settingsSchema.partial().refine((v) => Object.keys(v).length > 0, "Nothing to update");
