import "server-only";
import ipaddr from "ipaddr.js";
import type { Settings } from "@/lib/schemas/settings";
import { log } from "../log";
import { resolveHost } from "../url-guard";

/**
 * Client ID Metadata Documents: an MCP client's `client_id` is an https URL serving its metadata.
 * oidc-provider fetches and validates the document (https only, `client_id` equal to the URL, no
 * redirects, 5 KiB and 2.5 s caps, cached by Cache-Control/Expires, and sockets to special-use
 * addresses destroyed on connect). Portico decides *whether* it may fetch at all:
 *
 * - the admin's domain allowlist, when there is one;
 * - the host must resolve only to public unicast addresses (no loopback, private, link-local,
 *   carrier-grade NAT, unique-local or metadata addresses), unless an admin allows private ones.
 *   Checked here, before any connection, to refuse with a reason; the connect-time check in
 *   oidc-provider stops a DNS answer that changes in between.
 */

export function domainAllowed(host: string, allowlist: string[]): boolean {
  if (allowlist.length === 0) return true;
  const name = host.toLowerCase().replace(/\.$/, "");
  return allowlist.some((entry) => (entry.startsWith("*.") ? name.endsWith(entry.slice(1)) && name.length > entry.length - 1 : name === entry));
}

/** Why an address may not be fetched from, or null when it is public unicast. */
export function nonPublicAddress(address: string): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  let ip = ipaddr.parse(address);
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const range = ip.range();
  return range === "unicast" ? null : `a ${range} address`;
}

export type FetchDecision = { ok: true } | { ok: false; reason: string };

export async function mayFetchClientMetadata(clientId: string, settings: Pick<Settings, "oauthCimdDomains" | "oauthCimdAllowPrivate">): Promise<FetchDecision> {
  let url: URL;
  try {
    url = new URL(clientId);
  } catch {
    return { ok: false, reason: "client_id is not a URL" };
  }
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!domainAllowed(host, settings.oauthCimdDomains)) return { ok: false, reason: `${host} is not on the client metadata domain allowlist` };
  if (settings.oauthCimdAllowPrivate) return { ok: true };
  const addresses = await resolveHost(host).catch(() => null);
  if (!addresses) return { ok: false, reason: `${host} does not resolve` };
  for (const address of addresses) {
    const why = nonPublicAddress(address);
    if (why) return { ok: false, reason: `${host} resolves to ${why}` };
  }
  return { ok: true };
}

export function logRefusedFetch(clientId: string, reason: string) {
  // The URL is the client's public identifier, not a secret.
  log("info", "client metadata document not fetched", { clientId: clientId.slice(0, 300), reason });
}
