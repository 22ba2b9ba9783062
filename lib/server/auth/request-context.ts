import "server-only";
import { isIP } from "node:net";

/** The caller's address as the first proxy hop saw it; junk in the header is ignored. */
export function clientIp(headers: Headers): string | undefined {
  const forwarded = headers.get("x-forwarded-for")?.split(",")[0]?.trim();
  const candidate = forwarded || headers.get("x-real-ip")?.trim();
  if (!candidate) return undefined;
  const bare = candidate.replace(/^::ffff:/, "");
  return isIP(bare) ? bare : undefined;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export function requestIdFrom(headers: Headers): string {
  const given = headers.get("x-request-id");
  return given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
}
