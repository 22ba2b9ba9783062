import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type Provider from "oidc-provider";

import type { RouteModule } from "./route-router";

type Listener = (req: IncomingMessage, res: ServerResponse) => void;

export type ControlPlaneOptions = {
  /** PORTICO_GATEWAY_URL: the base of the portal URLs tokens are issued for. Unset when omitted. */
  gatewayUrl?: string;
  /** PORTICO_GATEWAY_TOKEN: the secret a gateway in the test presents. Unset when omitted. */
  gatewayToken?: string;
};

/**
 * For integration tests that run the control plane's real parts without Next.js: a real HTTP
 * server on a free port standing in for server.ts, and the environment pointing at it. Call it at
 * the top of the test file, before importing any module that reads the environment (they read it
 * once); this module imports none. It answers 503 until `serve` gives it something to serve.
 */
export async function listenAsControlPlane(options: ControlPlaneOptions = {}) {
  let listener: Listener = (_req, res) => void res.writeHead(503).end();
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
  process.env.AUTH_SECRET = randomBytes(32).toString("base64url");
  process.env.PORTICO_CONTROL_PLANE_URL = url;
  if (options.gatewayUrl) process.env.PORTICO_GATEWAY_URL = options.gatewayUrl;
  if (options.gatewayToken) process.env.PORTICO_GATEWAY_TOKEN = options.gatewayToken;
  return {
    url,
    /**
     * Serves as server.ts does: /oauth to `provider`'s authorization server, the rest to the first
     * of `routes` whose pattern matches (404 when none does), all of it inside `wrap` when given
     * (server.ts's request tracing).
     */
    async serve({ provider, routes = [], wrap = (l) => l }: { provider?: Provider; routes?: Array<[RegExp, RouteModule]>; wrap?: (listener: Listener) => Listener }) {
      const { routeRequests } = await import("./route-router");
      const route = routeRequests(routes, url);
      const handleOAuth = provider ? (await import("../oauth/mount")).createOAuthRequestHandler(provider) : () => false;
      listener = wrap((req, res) => {
        if (!handleOAuth(req, res)) route(req, res);
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
