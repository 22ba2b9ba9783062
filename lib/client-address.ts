import ipaddr from "ipaddr.js";

/**
 * Who is really calling, when proxies sit in front: the address a request came from, or, when
 * that address is a proxy the operator trusts, the address that proxy appended to
 * X-Forwarded-For, and so on leftwards while each hop is trusted. The first untrusted hop is the
 * client. Entries left of it were written by the client itself and are never believed, so nobody
 * can choose the address that network conditions, throttles and alerts see by sending a header.
 *
 * Shared by the gateway (policy's network conditions) and the control plane (sign-in throttles,
 * audit). `PORTICO_TRUSTED_PROXIES` lists the proxies as CIDRs; empty (the default) trusts none,
 * and the socket's address is the client.
 */

export type TrustedProxies = (address: string) => boolean;

const normalise = (address: string): ipaddr.IPv4 | ipaddr.IPv6 | null => {
  if (!ipaddr.isValid(address)) return null;
  const ip = ipaddr.parse(address);
  return ip.kind() === "ipv6" && (ip as ipaddr.IPv6).isIPv4MappedAddress() ? (ip as ipaddr.IPv6).toIPv4Address() : ip;
};

/** Parses `10.0.0.0/8, 127.0.0.1` (a bare address is its own /32 or /128); throws naming a bad entry. */
export function trustedProxies(list: string | undefined): TrustedProxies {
  const ranges = (list ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      try {
        if (entry.includes("/")) return ipaddr.parseCIDR(entry);
        const ip = normalise(entry);
        if (ip) return [ip, ip.kind() === "ipv4" ? 32 : 128] as [ipaddr.IPv4 | ipaddr.IPv6, number];
      } catch {
        // fall through to the error below
      }
      throw new Error(`PORTICO_TRUSTED_PROXIES: "${entry.slice(0, 60)}" is not an address or CIDR range`);
    });
  if (ranges.length === 0) return () => false;
  return (address) => {
    const ip = normalise(address);
    return ip !== null && ranges.some(([range, bits]) => ip.kind() === range.kind() && ip.match(range, bits));
  };
}

/** The client's address, or null when the socket's is unknown or a trusted hop wrote garbage. */
export function clientAddress(socketAddress: string | undefined, forwardedFor: string | undefined, isTrusted: TrustedProxies): string | null {
  let current = socketAddress ? normalise(socketAddress)?.toString() ?? null : null;
  if (current === null || !forwardedFor) return current;
  const hops = forwardedFor.split(",");
  for (let i = hops.length - 1; i >= 0 && isTrusted(current); i--) {
    const hop = normalise(hops[i]!.trim());
    if (hop === null) return null;
    current = hop.toString();
  }
  return current;
}
