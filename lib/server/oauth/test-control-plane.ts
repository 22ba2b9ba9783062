import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type Provider from "oidc-provider";

/**
 * For integration tests of the authorization server: a real HTTP server on a free port standing in
 * for the control plane, and the environment pointing at it (call before importing modules that
 * read the environment). It answers 503 until `serve` hands it a provider.
 */
export async function listenAsControlPlane(gatewayUrl: string) {
  let listener = (_req: IncomingMessage, res: ServerResponse) => void res.writeHead(503).end();
  const server = createServer((req, res) => listener(req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.env.PORTICO_SECRET_KEY = randomBytes(32).toString("base64");
  process.env.AUTH_SECRET = randomBytes(32).toString("base64url");
  process.env.PORTICO_CONTROL_PLANE_URL = url;
  process.env.PORTICO_GATEWAY_URL = gatewayUrl;
  return {
    url,
    /** Serves `provider` as server.ts does; other paths get 404. */
    async serve(provider: Provider) {
      const { createOAuthRequestHandler } = await import("./mount");
      const handle = createOAuthRequestHandler(provider);
      listener = (req, res) => {
        if (!handle(req, res)) res.writeHead(404).end();
      };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
