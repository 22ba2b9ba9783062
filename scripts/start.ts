/**
 * `npm start`: the whole product on one machine. Builds the dashboard when sources changed,
 * starts the bundled demo MCP servers, migrates and seeds the embedded database, then starts the
 * control plane and prints where everything is.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import path from "node:path";
import { loadOrCreateLocalSecrets } from "./lib/local-secrets";
import { needsBuild } from "./lib/build-stamp";
import { DEMO_USERS } from "../prisma/demo-users";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = path.resolve(root, process.env.PORTICO_DATA_DIR ?? ".data");
const host = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3000);
const gatewayUrl = process.env.PORTICO_GATEWAY_URL ?? "http://127.0.0.1:4000";

// Next.js rewrites loopback hosts to "localhost" in the URLs next-auth sees; people must use the
// same name, or the SSO callback lands on another origin than its cookies.
function publicUrl() {
  const loopback = host === "0.0.0.0" || host === "::" || /^127\./.test(host) || host === "::1";
  return `http://${loopback ? "localhost" : host}:${port}`;
}

const secrets = loadOrCreateLocalSecrets(dataDir);
const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: "production",
  NEXT_TELEMETRY_DISABLED: "1",
  CHECKPOINT_DISABLE: "1",
  PORTICO_DATA_DIR: dataDir,
  PORTICO_GATEWAY_URL: gatewayUrl,
  PORTICO_SECRET_KEY: process.env.PORTICO_SECRET_KEY ?? secrets.secretKey,
  AUTH_SECRET: process.env.AUTH_SECRET ?? secrets.authSecret,
  AUTH_URL: process.env.AUTH_URL ?? publicUrl(),
};
Object.assign(process.env, env);

const say = (line: string) => process.stdout.write(`${line}\n`);
const children: ChildProcess[] = [];
let closeDemo: (() => Promise<void>) | undefined;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  await closeDemo?.();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

async function waitForHttp(url: string, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: "manual" });
      if (res.status < 500) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

function seedInChild(servers: unknown[]): Promise<{ applied: string[]; portalSlug: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=react-server", path.join(root, "scripts/seed-demo.ts")], {
      cwd: root,
      env: { ...env, DEMO_SERVERS: JSON.stringify(servers), DEMO_PASSWORD: secrets.demoPassword },
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(child);
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code !== 0) return reject(new Error("migrating or seeding the database failed"));
      try {
        resolve(JSON.parse(out.trim().split("\n").at(-1) ?? ""));
      } catch {
        reject(new Error("the seed printed no result"));
      }
    });
  });
}

async function main() {
  if (process.env.PORTICO_SKIP_BUILD !== "1" && needsBuild(root)) {
    say("Building the dashboard (first run or sources changed)…");
    const build = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], { cwd: root, env, stdio: "inherit" });
    if (build.status !== 0) throw new Error("next build failed");
  }

  const { startDemoServers } = await import("../demo/servers");
  // DEMO_PORT_BASE moves the three demo servers (default 4101-4103) out of another install's way.
  const base = Number(process.env.DEMO_PORT_BASE ?? 4101);
  const demo = await startDemoServers({ host: "127.0.0.1", ports: { "cost-explorer": base, tagging: base + 1, budgets: base + 2 } });
  closeDemo = demo.close;

  // The embedded database allows one process at a time: migrate and seed in a child that exits
  // (and gives PGlite's memory back), then let the dashboard open it.
  // Asynchronous on purpose: the seed syncs the demo servers, which answer from this process.
  const { applied, portalSlug } = await seedInChild(demo.servers);
  if (applied.length) say(`Migrations: applied ${applied.length}`);
  {
    const next = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "-H", host, "-p", String(port)], {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "inherit"],
    });
    children.push(next);
    next.stdout?.on("data", (chunk: Buffer) => {
      // Next prints its own banner; keep only our lines and its JSON logs.
      const text = chunk.toString();
      if (text.startsWith("{")) process.stdout.write(text);
    });
    next.on("exit", (code) => {
      if (!stopping) {
        say(`The dashboard stopped (exit ${code ?? "signal"}).`);
        void stop(code ?? 1);
      }
    });

    const dashboard = env.AUTH_URL!.replace(/\/$/, "");
    await waitForHttp(`http://127.0.0.1:${port}/sign-in`, 60_000);
    for (const s of demo.servers) say(`Demo MCP server: ${s.id} ${s.url}`);
    say(`Dashboard: ${dashboard}`);
    say(`Portal: ${gatewayUrl.replace(/\/$/, "")}/mcp/${portalSlug}`);
    say(`Sign in: ${DEMO_USERS[0]!.email} / ${secrets.demoPassword}`);
    say(`Other demo users (same password): ${DEMO_USERS.slice(1).map((u) => `${u.email} (${u.role})`).join(", ")}`);
    say("Press Ctrl-C to stop.");
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`Portico failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  void stop(1);
});
