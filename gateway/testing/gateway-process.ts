import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";

import { GATEWAY_TOKEN, PORTAL } from "./harness";

export { freePort } from "./free-port";

/**
 * The gateway as operators run it, `node --import tsx gateway/main.ts`, as a child of the test: the
 * only way to test what a SIGKILL or a restart does to its disk state. Its output is kept in
 * memory (with PORTICO_DEBUG on, so every delivery retry is visible) for the test to read or to
 * print when it fails; it never reaches the test's own output otherwise.
 */

const ROOT = path.resolve(import.meta.dirname, "../..");
const MAX_OUTPUT_CHARS = 4 * 1024 * 1024;

export type GatewayProcessOptions = {
  controlPlaneUrl: string;
  dataDir: string;
  port: number;
  /** Base64 of 32 bytes; a fresh one when omitted. */
  credentialKey?: string;
  name?: string;
  /** The URL clients use (a load balancer's); default the process's own. Token audiences name it. */
  publicUrl?: string;
  /** How long to wait for it to listen (default 15 s); several starting at once on a busy machine need longer. */
  startTimeoutMs?: number;
  /** More environment, e.g. PORTICO_GATEWAY_ROUTE or PORTICO_GATEWAY_MAX_BODY_BYTES. */
  env?: Record<string, string>;
};

export type GatewayProcess = Awaited<ReturnType<typeof startGatewayProcess>>;

/** Starts the gateway process; resolves once it listens (not necessarily with a config: see `waitReady`). */
export async function startGatewayProcess(options: GatewayProcessOptions) {
  const url = `http://127.0.0.1:${options.port}`;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(ROOT, "gateway/main.ts")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "",
      NODE_ENV: process.env.NODE_ENV ?? "test",
      PORT: String(options.port),
      HOST: "127.0.0.1",
      PORTICO_CONTROL_PLANE_URL: options.controlPlaneUrl,
      PORTICO_GATEWAY_URL: options.publicUrl ?? url,
      ...(options.publicUrl ? { PORTICO_GATEWAY_ADVERTISE_URL: url } : {}),
      PORTICO_GATEWAY_TOKEN: GATEWAY_TOKEN,
      PORTICO_GATEWAY_CREDENTIAL_KEY: options.credentialKey ?? randomBytes(32).toString("base64"),
      PORTICO_GATEWAY_DATA_DIR: options.dataDir,
      PORTICO_GATEWAY_NAME: options.name ?? "fault-test-gateway",
      PORTICO_DEBUG: "1",
      ...options.env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    output += chunk.toString("utf8");
    if (output.length > MAX_OUTPUT_CHARS) output = output.slice(-MAX_OUTPUT_CHARS / 2);
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  const hasExited = () => child.exitCode !== null || child.signalCode !== null;

  const gateway = {
    url,
    pid: child.pid!,
    portalUrl: (slug = PORTAL) => `${url}/mcp/${slug}`,
    /** Everything the process wrote so far, stdout and stderr interleaved as they arrived. */
    output: () => output,
    /** Its JSON log lines (from `from`, an offset into `output()`), parsed. */
    logs(from = 0): Array<Record<string, unknown>> {
      return output
        .slice(from)
        .split("\n")
        .flatMap((line) => {
          try {
            return line.startsWith("{") ? [JSON.parse(line) as Record<string, unknown>] : [];
          } catch {
            return [];
          }
        });
    },
    exited,
    hasExited,
    /** Resolves once the gateway serves a config of at least `minVersion` (GET /readyz). */
    async waitReady(minVersion = 0, timeoutMs = 15_000): Promise<number> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (hasExited()) throw new Error(`the gateway exited before it was ready:\n${output}`);
        const res = await fetch(`${url}/readyz`).catch(() => null);
        const body = res ? ((await res.json()) as { configVersion?: number }) : null;
        if (res?.ok && (body?.configVersion ?? -1) >= minVersion) return body!.configVersion!;
        if (Date.now() > deadline) throw new Error(`the gateway was not ready with config ${minVersion}+ within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    /** A label-less gauge or counter from GET /metrics. */
    async metric(name: string): Promise<number | null> {
      const text = await (await fetch(`${url}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`${name} `));
      return line ? Number(line.slice(name.length + 1)) : null;
    },
    /** Sends the signal and waits for the exit. */
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      if (!hasExited()) child.kill(signal);
      return exited;
    },
  };

  // Listening comes before config: wait for the port, whatever /readyz says.
  const startTimeoutMs = options.startTimeoutMs ?? 15_000;
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    if (hasExited()) throw new Error(`the gateway exited at start:\n${output}`);
    const res = await fetch(`${url}/healthz`).catch(() => null);
    if (res) {
      await res.text();
      break;
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`the gateway did not listen within ${startTimeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return gateway;
}
