/**
 * What the gateway holds on to: 1,000 concurrent clients against one gateway, legacy sessions
 * (SDK 1.x client) and stateless 2026-07-28 clients (SDK 2.x client) mixed, each calling a tool
 * every few seconds for a minute, then leaving as real clients do: half of the legacy sessions end
 * with DELETE (terminateSession(), what the Python SDK's client does on exit: freed at once), the
 * other half only close() (the TypeScript SDK's close() sends no DELETE: the GET stream drops and
 * the gateway evicts the session once it has been detached for PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS,
 * --detached-idle, 30 s here, 300 s by default in production), then the clients' process exits.
 * Samples the gateway process's RSS throughout and checks issue 15's bars: peak RSS ≤ 150 MB, and
 * back within 10 % of the start once the clients are gone and their sessions evicted (after a
 * forced GC). A client that vanishes without closing its connections (a laptop lid shut) is not
 * modelled: its GET stream stays open until TCP notices, and its session with it.
 *
 *   npm run bench:gateway-memory -- [--clients 1000] [--modern-share 0.5] [--duration 60]
 *                                   [--interval 5] [--settle 10] [--runtime tsx|bundle] [--node-flags "<v8 flags>"]
 *                                   [--detached-idle 30] [--heap-snapshots <dir>] [--check]
 *
 * `--runtime bundle` (the default) runs the gateway as `npm start` and the README's production
 * commands do: bundled by esbuild into one JavaScript file (scripts/lib/gateway-bundle.ts) under
 * plain node. `--runtime tsx` runs it from the sources under `node --import tsx`, whose loader
 * thread and transpiler take some 50 MB of the process's RSS before the gateway allocates anything.
 *
 * Three processes, so that the gateway's RSS is the gateway's alone:
 *   main     the upstream (a small MCP server whose answers are built once, so that 200 calls a
 *            second are cheap for it on a small machine), the stand-in control plane, the sampler;
 *   gateway  the gateway (as gateway/main.ts wires it, real audit spool), run with --expose-gc so
 *            that "after" is measured after a collection, not whenever V8 gets round to one;
 *   load     every client, SDK 1.x and 2.x, in one event loop.
 *
 * Exit status: 1 when calls failed or audit events went missing; with `--check`, also when a bar fails.
 */
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import v8 from "node:v8";

import type { Client as ModernClient } from "@modelcontextprotocol/client";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

import { GATEWAY_NODE_FLAGS, GATEWAY_PROCESS_ENV } from "../scripts/lib/gateway-bundle";

import { bundleBench } from "./support/bundle";
import { cpuMicros, percentile, printTable, serve, spawnPeer } from "./support/ipc";
import { createBenchKeys, discoverTools, mintTokens, signBenchSnapshot, startBenchGateway, startCountingControlPlane } from "./support/portal";

const SCRIPT = fileURLToPath(import.meta.url);
const PORTAL = "finops";
const SERVER = "records";
const TOOL = "tool_00";
const MB = 1024 * 1024;

const BAR_PEAK_RSS_MB = 150;
const BAR_RETURN_RATIO = 1.1;

type Memory = { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number; cpuUs: number };

// ---------------------------------------------------------------------------------------------
// gateway: the process under measurement.

async function runGateway() {
  let bench: Awaited<ReturnType<typeof startBenchGateway>> | null = null;
  serve({
    start: async (m) => {
      bench = await startBenchGateway({ controlPlaneUrl: m.controlPlaneUrl as string, dataDir: m.dataDir as string });
      return { url: bench.gateway.url, publicUrl: bench.gateway.publicUrl };
    },
    memory: async (): Promise<Memory> => ({ ...process.memoryUsage(), cpuUs: cpuMicros() }),
    gc: async () => {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (!gc) throw new Error("run the gateway process with --expose-gc");
      // Twice: the first pass can leave garbage that only a second, with finalizers run, frees.
      gc();
      await new Promise((r) => setTimeout(r, 100));
      gc();
      return null;
    },
    flush: async () => {
      await bench?.spool.flush();
      return null;
    },
    heapSnapshot: async (m) => v8.writeHeapSnapshot(m.file as string),
    close: async () => {
      await bench?.close();
      setImmediate(() => process.exit(0));
      return null;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// load: every client in one process.

type LoadClient =
  | { kind: "legacy"; client: Client; transport: StreamableHTTPClientTransport; calls: number }
  | { kind: "modern"; client: ModernClient; calls: number };

type LoadResult = { calls: number; errors: number; firstError: string | null; p50: number; p99: number; legacy: number; modern: number; cpuUs: number; wallMs: number };

async function runLoad() {
  // Imported here, not at the top: the gateway process runs this file too, and must not carry the clients' code.
  const sdks = Promise.all([import("@modelcontextprotocol/client"), import("@modelcontextprotocol/sdk/client/index.js"), import("@modelcontextprotocol/sdk/client/streamableHttp.js")]);
  let clients: LoadClient[] = [];

  async function connect(url: string, token: string, kind: "legacy" | "modern"): Promise<LoadClient> {
    const requestInit = { headers: { authorization: `Bearer ${token}` } };
    const [{ Client: ModernClient, StreamableHTTPClientTransport: ModernTransport }, { Client }, { StreamableHTTPClientTransport }] = await sdks;
    if (kind === "legacy") {
      const client = new Client({ name: "bench-memory-legacy", version: "1" });
      const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit });
      await client.connect(transport);
      return { kind, client, transport, calls: 0 };
    }
    const client = new ModernClient({ name: "bench-memory-modern", version: "2" }, { versionNegotiation: { mode: "auto" } });
    await client.connect(new ModernTransport(new URL(url), { requestInit }));
    if (client.getProtocolEra() !== "modern") throw new Error(`a 2.x client negotiated the ${client.getProtocolEra()} era`);
    return { kind, client, calls: 0 };
  }

  serve({
    open: async (m) => {
      const { url, tokens, modern } = m as unknown as { url: string; tokens: string[]; modern: number };
      clients = [];
      // In batches, as clients arrive over some seconds in life, not in one burst of 1,000 handshakes.
      for (let i = 0; i < tokens.length; i += 25) {
        const batch = tokens.slice(i, i + 25).map((token, j) => connect(url, token, i + j < modern ? "modern" : "legacy"));
        clients.push(...(await Promise.all(batch)));
      }
      return { legacy: clients.filter((c) => c.kind === "legacy").length, modern: clients.filter((c) => c.kind === "modern").length };
    },
    run: async (m) => {
      const { durationMs, intervalMs } = m as unknown as { durationMs: number; intervalMs: number };
      const began = performance.now();
      const cpuBefore = cpuMicros();
      const deadline = began + durationMs;
      const latencies: number[] = [];
      let errors = 0;
      let firstError: string | null = null;
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      await Promise.all(
        clients.map(async (c) => {
          // Spread over the interval, so that the gateway sees a steady rate rather than waves.
          await sleep(Math.random() * intervalMs);
          while (performance.now() < deadline) {
            const start = performance.now();
            try {
              const result = await c.client.callTool({ name: `${SERVER}_${TOOL}`, arguments: {} });
              if (result.isError) throw new Error(JSON.stringify(result.content).slice(0, 300));
              latencies.push(performance.now() - start);
              c.calls++;
            } catch (error) {
              errors++;
              firstError ??= `${c.kind}: ${error instanceof Error ? error.message : String(error)}`;
            }
            await sleep(intervalMs * (0.5 + Math.random()));
          }
        }),
      );
      latencies.sort((a, b) => a - b);
      const result: LoadResult = {
        calls: latencies.length + errors,
        errors,
        firstError,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        legacy: clients.filter((c) => c.kind === "legacy").reduce((n, c) => n + c.calls, 0),
        modern: clients.filter((c) => c.kind === "modern").reduce((n, c) => n + c.calls, 0),
        cpuUs: cpuMicros() - cpuBefore,
        wallMs: performance.now() - began,
      };
      return result;
    },
    disconnect: async (m) => {
      // Of the legacy sessions, this share ends with DELETE (the SDK's terminateSession(), as the
      // Python SDK's client does on exit); the rest only close() (the TypeScript SDK's close() sends
      // no DELETE: it aborts the GET stream, and the gateway sees the session detached).
      const deleteShare = typeof m.deleteShare === "number" ? m.deleteShare : 0.5;
      let deleted = 0;
      let closed = 0;
      let legacyIndex = 0;
      await Promise.all(
        clients.map(async (c) => {
          if (c.kind === "legacy" && legacyIndex++ < deleteShare * clients.filter((x) => x.kind === "legacy").length) {
            await c.transport.terminateSession().catch(() => undefined);
            deleted++;
          } else if (c.kind === "legacy") {
            closed++;
          }
          await c.client.close().catch(() => undefined);
        }),
      );
      clients = [];
      return { deleted, closed };
    },
    exit: async () => {
      setImmediate(() => process.exit(0));
      return null;
    },
  });
}

// ---------------------------------------------------------------------------------------------
// main: upstream, control plane, the sampler and the report.

type Options = { clients: number; modernShare: number; durationS: number; intervalS: number; settleS: number; runtime: "tsx" | "bundle"; nodeFlags: string[]; detachedIdleS: number; heapSnapshots: string | null; check: boolean };

function parseOptions(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i === -1 ? undefined : argv[i + 1];
  };
  const num = (name: string, fallback: number, isValid: (v: number) => boolean) => {
    const value = Number(get(name) ?? fallback);
    if (!isValid(value)) throw new Error(`--${name}: ${get(name)} is out of range`);
    return value;
  };
  return {
    clients: num("clients", 1000, (v) => Number.isInteger(v) && v >= 2),
    modernShare: num("modern-share", 0.5, (v) => v >= 0 && v <= 1),
    durationS: num("duration", 60, (v) => v > 0),
    intervalS: num("interval", 5, (v) => v > 0),
    settleS: num("settle", 10, (v) => v >= 0),
    // How long the gateway keeps a session whose client left without DELETE: "after" is measured once they are evicted.
    detachedIdleS: num("detached-idle", Number(process.env.PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS ?? 30), (v) => Number.isInteger(v) && v >= 1),
    runtime: get("runtime") === "tsx" ? "tsx" : "bundle",
    // The V8 flags production launches the gateway with (scripts/lib/gateway-bundle.ts); `--node-flags ""` for none.
    nodeFlags: get("node-flags") !== undefined ? get("node-flags")!.split(/\s+/).filter(Boolean) : GATEWAY_NODE_FLAGS,
    // A V8 heap snapshot of the gateway at each phase, written to this directory (open them in Chrome's DevTools, Memory tab).
    heapSnapshots: get("heap-snapshots") ? path.resolve(get("heap-snapshots")!) : null,
    check: argv.includes("--check"),
  };
}


/** The kernel's high-water mark of the process's resident set (VmHWM), in bytes. */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch(() => "");
  const kb = /^VmHWM:\s+(\d+)\s+kB/m.exec(status)?.[1];
  return kb ? Number(kb) * 1024 : NaN;
}

async function runMain(options: Options) {
  const { startCatalogServers } = await import("./peers/catalog-servers");
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "portico-bench-memory-"));
  if (options.heapSnapshots) await mkdir(options.heapSnapshots, { recursive: true });
  const catalog = await startCatalogServers({ servers: 1, toolsPerServer: 5 });
  const upstream = { url: catalog.servers[0]!.url, close: catalog.close };
  const { cp, counts } = await startCountingControlPlane();
  // The gateway reads its session settings from the environment, as production does (bench/support/portal.ts).
  process.env.PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS = String(options.detachedIdleS);
  const gateway =
    options.runtime === "bundle"
      ? spawnPeer(await bundleBench(SCRIPT), "gateway", { execArgv: ["--expose-gc", ...options.nodeFlags], isBuilt: true, env: GATEWAY_PROCESS_ENV })
      : spawnPeer(SCRIPT, "gateway", { execArgv: ["--expose-gc", ...options.nodeFlags], env: GATEWAY_PROCESS_ENV });
  // The clients' process: one for the warm-up, one for the run. Each exits when its clients have
  // left, as the processes of 1,000 real clients would, taking their idle keep-alive connections
  // with them (the gateway keeps an idle one open 65 s for load balancers, server.ts).
  let load = spawnPeer(SCRIPT, "load");
  const leave = async (deleteShare: number) => {
    const left = await load.call<{ deleted: number; closed: number }>("disconnect", { deleteShare });
    const exited = new Promise((r) => load.child.once("exit", r));
    await load.call("exit");
    await exited;
    return left;
  };
  const cleanup = async () => {
    await gateway.call("close").catch(() => undefined);
    if (load.child.exitCode === null) await load.call("exit").catch(() => undefined);
    await Promise.all([upstream.close(), cp.close()]);
    await rm(dataDir, { recursive: true, force: true });
  };

  try {
    const keys = await createBenchKeys();
    cp.configJwks = keys.configJwks;
    cp.oauthJwks = keys.oauthJwks;
    const tools = await discoverTools(upstream.url);
    cp.latest = await signBenchSnapshot(keys, cp.url, [{ slug: PORTAL, name: "FinOps", servers: [{ slug: SERVER, name: "Records", url: upstream.url, tools }] }]);
    const { url: gatewayUrl, publicUrl } = await gateway.call<{ url: string; publicUrl: string }>("start", { controlPlaneUrl: cp.url, dataDir });
    const portalUrl = `${publicUrl}/mcp/${PORTAL}`;
    const pid = gateway.child.pid!;
    const memory = () => gateway.call<Memory>("memory");
    const sessions = async () => {
      const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith("portico_gateway_sessions "));
      return line ? Number(line.split(" ")[1]) : NaN;
    };
    const snapshots: Array<{ phase: string; m: Memory; sessions: number }> = [];
    const snap = async (phase: string) => {
      const m = await memory();
      snapshots.push({ phase, m, sessions: await sessions() });
      console.error(`  ${phase}: rss ${(m.rss / MB).toFixed(1)} MB, heap ${(m.heapUsed / MB).toFixed(1)} MB`);
      if (options.heapSnapshots) {
        // Taken after the figures: writing a snapshot allocates in the gateway and stops it for seconds.
        const file = path.join(options.heapSnapshots, `${snapshots.length}-${phase.split(":")[0]!.replace(/[^a-z]+/gi, "-")}.heapsnapshot`);
        console.error(`  heap snapshot: ${await gateway.call<string>("heapSnapshot", { file })}`);
      }
      return m;
    };

    await snap("cold: config loaded, no client yet");
    // The first calls load and compile code the gateway keeps for its lifetime: that is its start, not a leak.
    const warmTokens = await mintTokens(keys, cp.url, portalUrl, 20, "warm");
    await load.call("open", { url: portalUrl, tokens: warmTokens, modern: 10 });
    const warm = await load.call<LoadResult>("run", { durationMs: 2_000, intervalMs: 200 });
    if (warm.errors > 0) throw new Error(`warm-up calls failed: ${warm.firstError}`);
    // Every warm-up session ends with DELETE, so that "start" holds no session; the endings measured are the run's.
    await leave(1);
    load = spawnPeer(SCRIPT, "load");
    // Measured as "after" is, so that the two compare like with like.
    const settle = async () => {
      await gateway.call("flush");
      await gateway.call("gc");
      // V8 hands freed pages back to the OS lazily, some of it only once the process has been idle a while.
      await new Promise((r) => setTimeout(r, options.settleS * 1000));
      await gateway.call("gc");
    };
    await settle();
    const start = await snap(`start: warmed up (20 clients came and went), ${options.settleS} s idle, after GC`);
    const sessionsAtStart = snapshots.at(-1)!.sessions;

    const tokens = await mintTokens(keys, cp.url, portalUrl, options.clients, "client");
    const modern = Math.round(options.clients * options.modernShare);
    const samples: Array<{ t: number; rss: number; heapUsed: number }> = [];
    const t0 = performance.now();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const m = await memory().catch(() => null);
        if (m) samples.push({ t: performance.now() - t0, rss: m.rss, heapUsed: m.heapUsed });
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    console.error(`bench: ${options.clients} clients (${options.clients - modern} legacy sessions, ${modern} stateless 2026-07-28), a call every ~${options.intervalS} s each for ${options.durationS} s`);
    const connectStart = performance.now();
    const opened = await load.call<{ legacy: number; modern: number }>("open", { url: portalUrl, tokens, modern });
    const connectMs = performance.now() - connectStart;
    const connected = await snap(`connected: ${opened.legacy + opened.modern} clients in ${(connectMs / 1000).toFixed(1)} s`);
    const running = load.call<LoadResult>("run", { durationMs: options.durationS * 1000, intervalMs: options.intervalS * 1000 });
    await new Promise((r) => setTimeout(r, (options.durationS * 1000) / 2));
    await snap("mid-load: calls in flight");
    const result = await running;
    const ended = await snap("end of load, clients still connected");
    const { deleted, closed } = await leave(0.5);
    const leftAt = performance.now();
    await new Promise((r) => setTimeout(r, 2_000));
    await snap(`clients gone (${deleted} sessions DELETEd, ${closed} closed without), 2 s later`);
    // A session closed without DELETE is evicted once detached (no GET stream, nothing in flight)
    // for the detached idle time; the sweep runs every quarter of it (sessions.ts).
    const evictionDeadline = leftAt + options.detachedIdleS * 1000 * 1.5 + 15_000;
    while ((await sessions()) > sessionsAtStart && performance.now() < evictionDeadline) await new Promise((r) => setTimeout(r, 1_000));
    const evictedAfterS = (performance.now() - leftAt) / 1000;
    await snap(`sessions closed without DELETE evicted (${evictedAfterS.toFixed(0)} s after the clients left)`);
    sampling = false;
    await sampler;
    await settle();
    const after = await snap(`after: ${options.settleS} s more idle, after GC`);
    const hwm = await peakRss(pid);

    const peak = samples.reduce((best, s) => (s.rss > best.rss ? s : best), samples[0] ?? { t: 0, rss: NaN, heapUsed: NaN });
    const gatewayCalls = warm.calls + result.calls;

    console.log(
      `\ngateway memory: ${options.clients} clients, ${options.durationS} s, a tools/call every ~${options.intervalS} s each, ` +
        `gateway under ${options.runtime === "tsx" ? "node --import tsx" : "plain node (esbuild bundle)"}${options.nodeFlags.length ? ` ${options.nodeFlags.join(" ")}` : ", no V8 flags"}, MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? GATEWAY_PROCESS_ENV.MALLOC_ARENA_MAX}, node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")}`,
    );
    printTable(
      [
        ["phase", "rss MB", "heap used MB", "heap total MB", "external MB", "legacy sessions"],
        ...snapshots.map((s) => [s.phase, (s.m.rss / MB).toFixed(1), (s.m.heapUsed / MB).toFixed(1), (s.m.heapTotal / MB).toFixed(1), (s.m.external / MB).toFixed(1), String(s.sessions)]),
        [`peak sampled (every 250 ms), at ${(peak.t / 1000).toFixed(1)} s`, (peak.rss / MB).toFixed(1), (peak.heapUsed / MB).toFixed(1), "", "", ""],
        ["peak by the kernel (VmHWM, whole life)", (hwm / MB).toFixed(1), "", "", "", ""],
      ],
      1,
    );
    console.log(
      `load: ${result.calls} calls (${result.legacy} legacy, ${result.modern} stateless), ${result.errors} failed, p50 ${result.p50.toFixed(1)} ms, p99 ${result.p99.toFixed(1)} ms` +
        (result.firstError ? `; first error: ${result.firstError}` : ""),
    );
    // A saturated machine queues calls, and queued calls hold memory: the figures above mean most when neither process is near 100 %.
    console.log(
      `cpu during the load: gateway ${((100 * (ended.cpuUs - connected.cpuUs)) / 1000 / result.wallMs).toFixed(0)} % of a core ` +
        `(${((ended.cpuUs - connected.cpuUs) / Math.max(1, result.calls)).toFixed(0)} µs per call), load process ${((100 * result.cpuUs) / 1000 / result.wallMs).toFixed(0)} % of a core`,
    );
    const peakMb = Math.max(peak.rss, hwm) / MB;
    const verdicts: Array<[boolean, string]> = [
      [peakMb <= BAR_PEAK_RSS_MB, `peak RSS ≤ ${BAR_PEAK_RSS_MB} MB: ${peakMb.toFixed(1)} MB`],
      [
        after.rss <= BAR_RETURN_RATIO * start.rss,
        `RSS back within ${Math.round((BAR_RETURN_RATIO - 1) * 100)} % of the start after the clients left: ${(after.rss / MB).toFixed(1)} MB vs ${(start.rss / MB).toFixed(1)} MB (${((100 * (after.rss - start.rss)) / start.rss).toFixed(1)} %)`,
      ],
    ];
    console.log("");
    for (const [pass, text] of verdicts) console.log(`${pass ? "PASS" : "FAIL"}  ${text}`);
    const lingering = snapshots.at(-1)!.sessions - sessionsAtStart;
    console.log(
      `      endings: ${deleted} legacy sessions ended with DELETE (freed at once), ${closed} closed without DELETE as the TypeScript SDK's close() does ` +
        `(GET stream dropped; evicted after PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS=${options.detachedIdleS} detached, production default 300: ` +
        `--detached-idle 300 for that), ${opened.modern} stateless clients just left; every client process then exited. ${lingering} sessions still open at "after".`,
    );

    await gateway.call("flush");
    await new Promise((r) => setTimeout(r, 200));
    const isAuditComplete = counts.toolCalls === gatewayCalls;
    console.log(`audit: ${counts.toolCalls} tools/call events delivered to ingest for ${gatewayCalls} calls (warm-up included)` + (isAuditComplete ? "" : "  FAIL: not one event per call"));
    const failedBars = verdicts.filter(([pass]) => !pass).length;
    await cleanup();
    process.exit(result.errors > 0 || !isAuditComplete || (options.check && failedBars > 0) ? 1 : 0);
  } catch (error) {
    await cleanup();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------

const role = process.argv[2];
const entry = role === "gateway" ? runGateway() : role === "load" ? runLoad() : runMain(parseOptions(process.argv.slice(2)));
entry.catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
