import "server-only";
import { isIP } from "node:net";

/**
 * The caller's address as server.ts worked it out from the socket and the trusted proxies'
 * X-Forwarded-For (lib/client-address.ts), in a header it overwrites on every request: whatever a
 * client sends in X-Forwarded-For or X-Real-IP is not believed here.
 */
export const CLIENT_IP_HEADER = "x-portico-client-ip";

export function clientIp(headers: Headers): string | undefined {
  const candidate = headers.get(CLIENT_IP_HEADER)?.trim();
  return candidate && isIP(candidate) ? candidate : undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdFrom(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
