import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";

import { DEFAULT_UPSTREAM_MAX_SOCKETS, setUpstreamMaxSockets, upstreamFetch } from "./upstreams";

/**
 * The upstream agent's socket bound: a burst of calls to one upstream opens at most
 * `maxSockets` connections; the rest wait for a free one and all are answered.
 */

let server: http.Server | undefined;
afterEach(async () => {
  setUpstreamMaxSockets(DEFAULT_UPSTREAM_MAX_SOCKETS);
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

describe("upstream sockets", () => {
  it("a burst of 40 calls opens at most maxSockets connections, and every call is answered", async () => {
    let open = 0;
    let peak = 0;
    const sockets = new Set<unknown>();
    server = http.createServer((req, res) => {
      req.resume();
      // Held a little, so that the burst really is concurrent.
      setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end('{"jsonrpc":"2.0","id":1,"result":{}}'), 20);
    });
    server.on("connection", (socket) => {
      sockets.add(socket);
      open++;
      peak = Math.max(peak, open);
      socket.on("close", () => open--);
    });
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    setUpstreamMaxSockets(4);
    const answers = await Promise.all(
      Array.from({ length: 40 }, () => upstreamFetch(url, { method: "POST", body: '{"jsonrpc":"2.0","id":1,"method":"ping"}', redirect: "manual", headers: { "content-type": "application/json" } }).then((r) => r.json())),
    );
    expect(answers).toHaveLength(40);
    expect(answers.every((a) => (a as { result?: unknown }).result !== undefined)).toBe(true);
    expect(peak).toBeLessThanOrEqual(4);
    expect(sockets.size).toBeLessThanOrEqual(4);
  });
});
