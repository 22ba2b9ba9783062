import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { createServer, request, type Server } from "node:http";
import path from "node:path";

/**
 * One URL in front of several gateways, routed the way deploy/fleet/portico-fleet.conf says: a
 * request whose Mcp-Session-Id starts with a route tag (`g2.`) goes to that gateway first, anything
 * else round robin, and a gateway that refuses the connection is skipped. nginx runs the documented
 * file itself when it is installed; otherwise a small proxy here follows the same rules.
 */

export const NGINX = "/usr/sbin/nginx";
const FLEET_CONF = path.resolve(import.meta.dirname, "../../deploy/fleet/portico-fleet.conf");

export type LoadBalancer = { url: string; kind: "nginx" | "node"; close(): Promise<void>; log(): string };

/** The documented config with its example ports replaced: 4000 → `port`, 4001… → the gateways'. */
export function fleetConfig(port: number, gatewayPorts: number[]): string {
  let text = fs.readFileSync(FLEET_CONF, "utf8").replace(/listen 4000;/, `listen 127.0.0.1:${port};`);
  gatewayPorts.forEach((p, i) => (text = text.replaceAll(`127.0.0.1:${4001 + i}`, `127.0.0.1:${p}`)));
  return text;
}

/** nginx when installed; PORTICO_TEST_BALANCER=node runs the fallback where nginx is installed too. */
export async function startLoadBalancer(options: { port: number; gatewayPorts: number[]; dir: string }): Promise<LoadBalancer> {
  return fs.existsSync(NGINX) && process.env.PORTICO_TEST_BALANCER !== "node" ? startNginx(options) : startNodeBalancer(options);
}

async function startNginx({ port, gatewayPorts, dir }: { port: number; gatewayPorts: number[]; dir: string }): Promise<LoadBalancer> {
  fs.writeFileSync(path.join(dir, "portico-fleet.conf"), fleetConfig(port, gatewayPorts));
  // Only what a foreground, unprivileged-path run needs around the documented file.
  fs.writeFileSync(
    path.join(dir, "nginx.conf"),
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  include ${dir}/portico-fleet.conf;
}
`,
  );
  const child: ChildProcess = spawn(NGINX, ["-p", dir, "-c", path.join(dir, "nginx.conf")], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`nginx exited: ${output}`);
    const res = await fetch(`${url}/healthz`).catch(() => null);
    if (res) {
      await res.text();
      break;
    }
    if (Date.now() > deadline) throw new Error(`nginx did not listen: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    kind: "nginx",
    log: () => `${output}${fs.existsSync(path.join(dir, "error.log")) ? fs.readFileSync(path.join(dir, "error.log"), "utf8") : ""}`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGQUIT");
      await exited;
    },
  };
}

async function startNodeBalancer({ port, gatewayPorts }: { port: number; gatewayPorts: number[] }): Promise<LoadBalancer> {
  let next = 0;
  const server: Server = createServer((req, res) => {
    const pathname = (req.url ?? "/").split("?")[0]!;
    if (pathname.startsWith("/internal/") || pathname === "/metrics") return void res.writeHead(404).end();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const route = /^g(\d+)\./.exec(String(req.headers["mcp-session-id"] ?? ""));
      const first = route ? Number(route[1]) - 1 : next++ % gatewayPorts.length;
      const order = gatewayPorts.map((_, i) => gatewayPorts[(first + i) % gatewayPorts.length]!);
      const attempt = (i: number) => {
        // A connection per request: a pooled one to a gateway that is stopping would fail mid-request.
        const out = request({ host: "127.0.0.1", port: order[i], method: req.method, path: req.url, headers: { ...req.headers, "x-forwarded-for": req.socket.remoteAddress }, agent: false }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        });
        // As `proxy_next_upstream error`: only a connection never made goes to the next gateway.
        out.on("error", (error: NodeJS.ErrnoException) => {
          if (error.code === "ECONNREFUSED" && i + 1 < order.length) return attempt(i + 1);
          if (!res.headersSent) res.writeHead(502).end();
          else res.destroy();
        });
        res.on("close", () => out.destroy());
        out.end(body);
      };
      attempt(0);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    kind: "node",
    log: () => "",
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
