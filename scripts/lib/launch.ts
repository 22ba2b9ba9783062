import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import readline from "node:readline";

import { GATEWAY_BUNDLE, GATEWAY_NODE_FLAGS, GATEWAY_PROCESS_ENV } from "./gateway-bundle";

/**
 * The two long-running processes of a Portico install, as `npm start` and the end-to-end tests
 * run them: the control plane (Next.js plus the OAuth authorization server, server.ts) and the
 * gateway (gateway/main.ts). Each gets only the environment it needs.
 */

const tsx = (root: string, entry: string) => ["--import", "tsx", "--conditions=react-server", path.join(root, entry)];

// oidc-provider warns on import under any Node older than 22 LTS; Node 20 runs it fine here (see
// TOOLCHAIN.md), and the line would read as a fault to someone starting Portico.
const HARMLESS_STDERR = /^oidc-provider WARNING: Unsupported runtime\b/;

/** Passes a child's stderr through, line by line, without the warning above. */
export function forwardStderr(child: ChildProcess): void {
  if (!child.stderr) return;
  readline.createInterface({ input: child.stderr, crlfDelay: Infinity }).on("line", (line) => {
    if (!HARMLESS_STDERR.test(line)) process.stderr.write(`${line}\n`);
  });
}

/**
 * V8 flags the control plane runs with (here, in deploy/systemd, and in bench/audit-export.ts).
 *
 * `--max-old-space-size=1024`: with Node's default limit on a large machine (about 4 GB) V8 lets
 * the old generation grow to about four times what is live before a full collection, so a 1M-row
 * export (whose memory is all garbage a moment later) grew the process by about 200 MB. Under a
 * 1 GB limit V8 grows the heap by a smaller factor and collects sooner: the same export grows it
 * by well under 100 MB (bench/README.md). 1 GB is several times what the control plane keeps live;
 * PGlite's database memory is WebAssembly memory, outside this limit.
 */
export const CONTROL_PLANE_NODE_FLAGS = ["--max-old-space-size=1024"];

export function spawnControlPlane(root: string, env: NodeJS.ProcessEnv, listen: { host: string; port: number }): ChildProcess {
  const child = spawn(process.execPath, [...CONTROL_PLANE_NODE_FLAGS, ...tsx(root, "server.ts")], {
    cwd: root,
    env: { ...env, HOST: listen.host, PORT: String(listen.port) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  forwardStderr(child);
  return child;
}

export type GatewayLaunch = {
  gatewayUrl: string;
  controlPlaneUrl: string;
  gatewayToken: string;
  /** The bundle to run (buildGateway's outfile); default dist/gateway.mjs. */
  bundle?: string;
  /** The key that opens sealed upstream credentials: the gateway never gets PORTICO_SECRET_KEY. */
  credentialKey: string;
  dataDir: string;
  name: string;
};

/** Runs the gateway bundle (scripts/lib/gateway-bundle.ts): build it first with buildGateway(root). */
export function spawnGateway(root: string, env: NodeJS.ProcessEnv, launch: GatewayLaunch): ChildProcess {
  const url = new URL(launch.gatewayUrl);
  // The gateway holds no control-plane secret and no database access.
  const rest = { ...env };
  for (const name of ["PORTICO_SECRET_KEY", "AUTH_SECRET", "DATABASE_URL", "OIDC_CLIENT_SECRET"]) delete rest[name];
  return spawn(process.execPath, [...GATEWAY_NODE_FLAGS, launch.bundle ?? path.join(root, GATEWAY_BUNDLE)], {
    cwd: root,
    env: {
      ...GATEWAY_PROCESS_ENV,
      ...rest,
      HOST: url.hostname,
      PORT: url.port || "80",
      PORTICO_GATEWAY_URL: launch.gatewayUrl,
      PORTICO_CONTROL_PLANE_URL: launch.controlPlaneUrl,
      PORTICO_GATEWAY_TOKEN: launch.gatewayToken,
      PORTICO_GATEWAY_CREDENTIAL_KEY: launch.credentialKey,
      PORTICO_GATEWAY_DATA_DIR: launch.dataDir,
      PORTICO_GATEWAY_NAME: launch.name,
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

export async function waitForHttp(url: string, timeoutMs: number, isReady: (status: number) => boolean = (s) => s < 500): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(url, { redirect: "manual" });
      if (isReady(res.status)) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}
