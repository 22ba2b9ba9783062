import "server-only";
import { portalUrl } from "../portals";

/** The base scope of every portal: what a token needs to speak MCP at all. */
export const MCP_SCOPE = "mcp";

const PORTAL_SLUG = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** The portal slug a resource indicator names, by shape only: `{PORTICO_GATEWAY_URL}/mcp/<slug>`, exactly. */
export function portalSlugFromResource(resource: string): string | null {
  const prefix = portalUrl("");
  if (!resource.startsWith(prefix)) return null;
  const slug = resource.slice(prefix.length);
  return PORTAL_SLUG.test(slug) && portalUrl(slug) === resource ? slug : null;
}
