import type { GatewayState, PortalView } from "../portal-index";

/**
 * Stage 1, admit: before anything is read or verified, may this HTTP request reach the portal at
 * all? A browser page of another site must not drive a user's MCP session (DNS rebinding, CSRF),
 * so an Origin, when sent, must be the gateway's own, a configured one, or loopback. Then the
 * HTTP method, a running config, and the portal.
 */

export type AdmitInput = { method: string | undefined; origin: string | undefined; slug: string; state: GatewayState | null };

export type Admission =
  | { kind: "admitted"; portal: PortalView; state: GatewayState; headers: Record<string, string> }
  | { kind: "preflight"; headers: Record<string, string> }
  | { kind: "refused"; status: number; message: string; reason: string; headers: Record<string, string>; knownPortal: boolean };

const LOCAL_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;
const CORS_EXPOSE = "mcp-session-id, mcp-protocol-version, www-authenticate, x-request-id";
const CORS_ALLOW_HEADERS = "authorization, content-type, accept, mcp-session-id, mcp-protocol-version, mcp-method, mcp-name, last-event-id, x-request-id";

export function createAdmit(options: { gatewayUrl: string; allowedOrigins: string[] }): (input: AdmitInput) => Admission {
  const ownOrigin = new URL(options.gatewayUrl).origin;
  const extraOrigins = new Set(options.allowedOrigins.map((o) => o.replace(/\/+$/, "")));
  const isOriginAllowed = (origin: string) => origin === ownOrigin || extraOrigins.has(origin) || LOCAL_ORIGIN.test(origin);

  return ({ method, origin, slug, state }) => {
    let headers: Record<string, string> = {};
    if (origin !== undefined) {
      if (!isOriginAllowed(origin)) {
        return { kind: "refused", status: 403, message: "Forbidden: this Origin may not call the gateway.", reason: "origin not allowed", headers, knownPortal: state?.portals.has(slug) ?? false };
      }
      headers = { "access-control-allow-origin": origin, "access-control-expose-headers": CORS_EXPOSE, vary: "Origin" };
    }
    if (method === "OPTIONS") {
      return { kind: "preflight", headers: { ...headers, "access-control-allow-methods": "GET, POST, DELETE", "access-control-allow-headers": CORS_ALLOW_HEADERS, "access-control-max-age": "600" } };
    }
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      return { kind: "refused", status: 405, message: "Method not allowed.", reason: "method not allowed", headers: { ...headers, allow: "GET, POST, DELETE" }, knownPortal: state?.portals.has(slug) ?? false };
    }
    if (!state) {
      return { kind: "refused", status: 503, message: "The gateway has no configuration yet; try again shortly.", reason: "no configuration", headers: { ...headers, "retry-after": "5" }, knownPortal: false };
    }
    const portal = state.portals.get(slug);
    if (!portal) return { kind: "refused", status: 404, message: `Unknown portal "${slug}".`, reason: "unknown portal", headers, knownPortal: false };
    return { kind: "admitted", portal, state, headers };
  };
}
