import "server-only";
import { lookup } from "node:dns/promises";
import ipaddr from "ipaddr.js";
import { AppError } from "@/lib/errors";

// Addresses that answer cloud instance-metadata requests (AWS, GCP, Azure, Alibaba, Oracle, AWS IPv6).
const METADATA_ADDRESSES = new Set(["169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"]);
const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata", "instance-data", "instance-data.ec2.internal"]);

/** Every address a host name (or IP literal, without brackets) resolves to; rejects when it does not resolve. */
export async function resolveHost(host: string): Promise<string[]> {
  if (ipaddr.isValid(host)) return [host];
  return (await lookup(host, { all: true, verbatim: true })).map((r) => r.address);
}

export function isForbiddenAddress(address: string): string | null {
  if (!ipaddr.isValid(address)) return "not an IP address";
  let ip = ipaddr.parse(address);
  if (ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  if (METADATA_ADDRESSES.has(ip.toNormalizedString()) || METADATA_ADDRESSES.has(ip.toString())) return "a cloud metadata address";
  const range = ip.range();
  if (range === "linkLocal") return "a link-local address";
  if (range === "unspecified") return "an unspecified address";
  return null;
}

/**
 * Refuses upstream URLs that would let the control plane be used against the cloud metadata
 * service or link-local neighbours (SSRF), unless an admin allowed private targets.
 */
export async function assertAllowedUpstream(rawUrl: string, options: { allowPrivateTargets: boolean }): Promise<void> {
  const url = new URL(rawUrl);
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new AppError("validation_failed", "Use an http:// or https:// URL", [{ field: "url", message: "Use an http:// or https:// URL" }]);
  }
  if (url.username || url.password) {
    throw new AppError("validation_failed", "Put credentials in the credential field, not the URL", [{ field: "url", message: "No user:password@ in the URL" }]);
  }
  if (options.allowPrivateTargets) return;
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const refuse = (why: string) =>
    new AppError("validation_failed", `This URL points at ${why}`, [
      { field: "url", message: `Points at ${why}; an admin can allow private targets in Settings` },
    ]);
  if (METADATA_HOSTS.has(host)) throw refuse("a cloud metadata service");
  const addresses = await resolveHost(host).catch(() => {
    throw new AppError("validation_failed", "The server's host name does not resolve", [{ field: "url", message: "Host name does not resolve" }]);
  });
  for (const address of addresses) {
    const why = isForbiddenAddress(address);
    if (why) throw refuse(why);
  }
}
