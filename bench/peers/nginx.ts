import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

import { freePort } from "@/gateway/testing/gateway-process";

/**
 * nginx as a reverse proxy, the floor of a hop in C: one worker (the Node hops have one event loop
 * too), a keep-alive upstream pool, no buffering (MCP responses may be event streams). Run in the
 * foreground from a generated config in a temp dir, so it needs no root, no system config and
 * leaves nothing behind. It forwards the request path as it is, so its URL has the target's path.
 */

export function findNginx(): string | null {
  if (existsSync("/usr/sbin/nginx")) return "/usr/sbin/nginx";
  const found = spawnSync("sh", ["-c", "command -v nginx"], { encoding: "utf8" });
  const bin = found.status === 0 ? found.stdout.trim() : "";
  return bin || null;
}

export async function startNginx(options: { bin: string; target: string }) {
  const target = new URL(options.target);
  const dir = await mkdtemp(path.join(os.tmpdir(), "portico-bench-nginx-"));
  const port = await freePort();
  const config = `
${process.getuid?.() === 0 ? "user root root;" : ""}
daemon off;
master_process on;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream mcp {
    server ${target.host};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    keepalive_requests 100000;
    location / {
      proxy_pass http://mcp;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host ${target.host};
      proxy_buffering off;
      proxy_request_buffering off;
      proxy_read_timeout 1h;
    }
  }
}
`;
  await writeFile(path.join(dir, "nginx.conf"), config);
  const child = spawn(options.bin, ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-e", path.join(dir, "error.log")], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // A bench that crashes or is stopped with Ctrl-C must not leave an nginx behind (it outlives its parent).
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);

  const url = `http://127.0.0.1:${port}${target.pathname}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      const log = await readFile(path.join(dir, "error.log"), "utf8").catch(() => "");
      await rm(dir, { recursive: true, force: true });
      throw new Error(`nginx exited at start: ${stderr}${log}`);
    }
    const res = await fetch(url, { method: "GET" }).catch(() => null);
    if (res) {
      await res.arrayBuffer();
      break;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error("nginx did not listen within 10 s");
    }
    await new Promise((r) => setTimeout(r, 25));
  }

  return {
    url,
    /** CPU time of the master and its workers so far, in µs (the scheduler's own nanosecond count). */
    async cpuMicros(): Promise<number> {
      const pids = [child.pid!, ...(await childrenOf(child.pid!))];
      let ns = 0;
      for (const pid of pids) ns += await schedNs(pid);
      return ns / 1000;
    },
    async close() {
      process.off("exit", killOnExit);
      child.kill("SIGQUIT");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const out: number[] = [];
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
    for (const id of text.trim().split(/\s+/)) if (id) out.push(Number(id));
  }
  return out;
}

/** Sum of the on-CPU time of every thread of `pid`, from /proc/<pid>/task/<tid>/schedstat. */
async function schedNs(pid: number): Promise<number> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  let ns = 0;
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/schedstat`, "utf8").catch(() => "0");
    ns += Number(text.split(" ")[0]) || 0;
  }
  return ns;
}
