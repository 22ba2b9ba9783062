import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A transparent HTTP hop in front of a real upstream MCP server that counts the JSON-RPC requests
 * the gateway sends it, by method. Tests that must prove "no upstream call" look here, at the
 * upstream's door, rather than at the gateway's own metrics.
 */
export type CountingUpstream = {
  url: string;
  /** JSON-RPC requests seen, by method (notifications and responses are not counted). */
  counts: Map<string, number>;
  /** Requests of these methods since the counts were taken. */
  total(methods?: string[]): number;
  close(): Promise<void>;
};

function methodsOf(body: string): string[] {
  try {
    const parsed = JSON.parse(body) as unknown;
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.flatMap((m) => (m && typeof m === "object" && "id" in m && typeof (m as { method?: unknown }).method === "string" ? [(m as { method: string }).method] : []));
  } catch {
    return ["(unparsable)"];
  }
}

export async function startCountingUpstream(target: string): Promise<CountingUpstream> {
  const upstream = new URL(target);
  const counts = new Map<string, number>();
  const server: Server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.method === "POST") for (const m of methodsOf(body.toString("utf8"))) counts.set(m, (counts.get(m) ?? 0) + 1);
      const headers = { ...req.headers, host: upstream.host };
      const out = request(upstream, { method: req.method, headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      out.on("error", () => (res.headersSent ? res.end() : res.writeHead(502).end()));
      res.on("close", () => out.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${upstream.pathname}`,
    counts,
    total: (methods) => [...counts].filter(([m]) => !methods || methods.includes(m)).reduce((sum, [, n]) => sum + n, 0),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
