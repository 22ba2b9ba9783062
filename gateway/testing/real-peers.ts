import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import os from "node:os";
import path from "node:path";

/**
 * Third-party MCP peers for protocol tests, run as their users run them: the reference
 * `server-everything` and the MCP Inspector's CLI, each a child process of the test, installed as
 * devDependencies (never fetched at test time).
 */

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The file a package's `bin` entry points at, read from its package.json. */
function binOf(pkg: string, name: string): string {
  const dir = path.join(ROOT, "node_modules", pkg);
  const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { bin?: string | Record<string, string> };
  const bin = typeof manifest.bin === "string" ? manifest.bin : manifest.bin?.[name];
  if (!bin) throw new Error(`${pkg} has no "${name}" bin`);
  return path.join(dir, bin);
}

/** A small environment for a child: PATH and what it is told, not the test runner's secrets. */
function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? "", NODE_ENV: process.env.NODE_ENV ?? "test", ...vars };
}

/** server-everything binds every interface; find a port free on all of them. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, () => resolve());
  });
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export type ServerEverything = { url: string; close(): Promise<void> };

/** `PORT=… mcp-server-everything streamableHttp`, stopped by `close()`. */
export async function startServerEverything(): Promise<ServerEverything> {
  const port = await freePort();
  // A small environment: its get-env tool hands the whole of it to any caller.
  const child = spawn(process.execPath, [binOf("@modelcontextprotocol/server-everything", "mcp-server-everything"), "streamableHttp"], {
    env: childEnv({ PORT: String(port) }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let output = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server-everything did not start within 15 s:\n${output}`)), 15_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString("utf8");
        if (output.includes(`listening on port ${port}`)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`server-everything exited (${code}):\n${output}`));
      });
    });
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    async close() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export type InspectorResult = { code: number | null; stdout: string; stderr: string; json: unknown };

/**
 * `mcp-inspector --cli <args…>` with its catalog, stored OAuth state and client config in a
 * fresh directory, so a run neither reads nor writes the user's `~/.mcp-inspector`.
 */
export async function runInspectorCli(args: string[], options: { timeoutMs?: number } = {}): Promise<InspectorResult> {
  const home = await mkdtemp(path.join(os.tmpdir(), "portico-inspector-"));
  try {
    const child = spawn(process.execPath, [binOf("@modelcontextprotocol/inspector", "mcp-inspector"), "--cli", ...args], {
      env: childEnv({ HOME: home, MCP_CATALOG_PATH: path.join(home, "mcp.json"), MCP_CLIENT_CONFIG_PATH: path.join(home, "client.json"), NO_COLOR: "1" }),
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString("utf8")));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    const code = await new Promise<number | null>((resolve) => child.once("close", (c) => resolve(c)));
    clearTimeout(timer);
    let json: unknown = null;
    try {
      json = JSON.parse(stdout);
    } catch {
      // Not JSON (an error, or --format text): the caller looks at the text.
    }
    return { code, stdout, stderr, json };
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}
