/**
 * `npm start`: the whole product on one machine. Builds the dashboard when sources changed,
 * starts the bundled demo MCP servers, migrates and seeds the embedded database, then starts the
 * control plane and the gateway under a supervisor (one that exits unexpectedly is restarted, the
 * other keeps serving), and prints where everything is.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { deriveGatewayCredentialKey } from "../lib/config/sealed-credential";
import { loadOrCreateLocalSecrets } from "./lib/local-secrets";
import { needsBuild } from "./lib/build-stamp";
import { buildGateway } from "./lib/gateway-bundle";
import { forwardStderr, spawnControlPlane, spawnGateway } from "./lib/launch";
import { supervise, type Supervised } from "./lib/supervisor";
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
  PORTICO_CONTROL_PLANE_URL: process.env.PORTICO_CONTROL_PLANE_URL ?? publicUrl(),
  PORTICO_GATEWAY_TOKEN: process.env.PORTICO_GATEWAY_TOKEN ?? secrets.gatewayToken,
  PORTICO_SECRET_KEY: process.env.PORTICO_SECRET_KEY ?? secrets.secretKey,
  AUTH_SECRET: process.env.AUTH_SECRET ?? secrets.authSecret,
  AUTH_URL: process.env.AUTH_URL ?? publicUrl(),
};
Object.assign(process.env, env);

const say = (line: string) => process.stdout.write(`${line}\n`);
const children: ChildProcess[] = [];
const parts: Supervised[] = [];
let closeDemo: (() => Promise<void>) | undefined;
let stopping = false;

async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(parts.map((part) => part.stop()));
  await closeDemo?.();
  process.exit(code);
}
process.on("SIGINT", () => void stop(0));
process.on("SIGTERM", () => void stop(0));

function seedInChild(servers: unknown[]): Promise<{ applied: string[]; portalSlug: string; serviceAccountClientId?: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--conditions=react-server", path.join(root, "scripts/seed-demo.ts")], {
      cwd: root,
      env: { ...env, DEMO_SERVERS: JSON.stringify(servers), DEMO_PASSWORD: secrets.demoPassword, DEMO_SA_SECRET: secrets.demoServiceAccountSecret },
      stdio: ["ignore", "pipe", "pipe"],
    });
    forwardStderr(child);
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

/**
 * npm install's postinstall generates the database client; a checkout whose node_modules came
 * another way (copied, or installed with --ignore-scripts) has none, and the build then fails on
 * ten unresolved imports. Generated here when it is missing or older than the schema.
 */
function ensureDatabaseClient() {
  const client = path.join(root, "lib/generated/prisma/client.ts");
  const schema = path.join(root, "prisma/schema.prisma");
  if (fs.existsSync(client) && fs.statSync(client).mtimeMs >= fs.statSync(schema).mtimeMs) return;
  say("Generating the database client (prisma generate)…");
  const generate = spawnSync(process.execPath, [path.join(root, "node_modules/prisma/build/index.js"), "generate"], {
    cwd: root,
    env: { ...env, PRISMA_SCHEMA_ENGINE_BINARY: "/bin/false" },
    stdio: "inherit",
  });
  if (generate.status !== 0) throw new Error("prisma generate failed");
}

async function main() {
  ensureDatabaseClient();
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
  const { applied, portalSlug, serviceAccountClientId } = await seedInChild(demo.servers);
  if (applied.length) say(`Migrations: applied ${applied.length}`);

  const logDir = path.join(dataDir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const controlPlane = superviseLogged("control plane", path.join(logDir, "control-plane.log"), () => spawnControlPlane(root, env, { host, port }), async () => {
    const res = await fetch(`http://127.0.0.1:${port}/api/readyz`, { signal: AbortSignal.timeout(5_000) });
    return res.status === 200;
  });
  const dashboard = env.AUTH_URL!.replace(/\/$/, "");
  await controlPlane.started;

  await buildGateway(root);
  const gatewayLaunch = {
    gatewayUrl,
    controlPlaneUrl: env.PORTICO_CONTROL_PLANE_URL!,
    gatewayToken: env.PORTICO_GATEWAY_TOKEN!,
    credentialKey: deriveGatewayCredentialKey(env.PORTICO_SECRET_KEY!).toString("base64"),
    dataDir: path.join(dataDir, "gateway"),
    name: "local",
  };
  // A restarted gateway serves its last good snapshot from disk at once, control plane or not.
  const gateway = superviseLogged("gateway", path.join(logDir, "gateway.log"), () => spawnGateway(root, env, gatewayLaunch), async () => {
    const res = await fetch(`${gatewayUrl}/readyz`, { signal: AbortSignal.timeout(5_000) });
    return res.status === 200;
  });
  await gateway.started;

  for (const s of demo.servers) say(`Demo MCP server: ${s.id} ${s.url}`);
  say(`Dashboard: ${dashboard}`);
  say(`Portal: ${gatewayUrl.replace(/\/$/, "")}/mcp/${portalSlug}`);
  say(`Sign in: ${DEMO_USERS[0]!.email} / ${secrets.demoPassword}`);
  say(`Other demo users (same password): ${DEMO_USERS.slice(1).map((u) => `${u.email} (${u.role})`).join(", ")}`);
  if (serviceAccountClientId) say(`Service account: ${serviceAccountClientId} / ${secrets.demoServiceAccountSecret}`);
  say(`Logs: ${logDir}`);
  say("Press Ctrl-C to stop.");
}

/**
 * One part under the supervisor. Its logs go to a file; warnings and errors are shown here too.
 * Exiting before it was first ready fails the start; exiting later restarts it.
 */
function superviseLogged(name: string, logFile: string, spawnPart: () => ChildProcess, isReady: () => Promise<boolean>): Supervised {
  const log = fs.createWriteStream(logFile, { flags: "a" });
  const part = supervise({
    name,
    hint: `see ${logFile}`,
    say,
    isReady,
    spawn: () => {
      const child = spawnPart();
      child.stdout?.on("data", (chunk: Buffer) => {
        log.write(chunk);
        for (const line of chunk.toString().split("\n")) {
          if (/^\{.*"level":"(warn|error)"/.test(line)) process.stderr.write(`${name}: ${line}\n`);
        }
      });
      return child;
    },
  });
  parts.push(part);
  return part;
}

main().catch((error: unknown) => {
  process.stderr.write(`Portico failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  void stop(1);
});
