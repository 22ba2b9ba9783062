import path from "node:path";

/**
 * The gateway as it runs outside tests: gateway/main.ts and the lib/ code it shares with the
 * control plane, bundled by esbuild into one ES module, its npm packages left to node_modules.
 * Code the gateway imports on demand (`await import("./tracing")`, with the OpenTelemetry SDK)
 * goes to chunks beside it (`dist/gateway-chunks/`), loaded only when asked for: in one file,
 * esbuild would hoist their packages' imports to the top, and every gateway would load the
 * OpenTelemetry SDK at start whether or not tracing is on (some 3 MB of heap, measured).
 * Under plain node it starts with some 55 MB less resident memory than under tsx, whose loader
 * thread and transpiler stay in the process (bench/gateway-memory.ts --runtime tsx|bundle), and
 * it starts without transpiling anything. Built in well under a second, so `npm start` builds it
 * each time and it is never stale.
 *
 *   npm run build:gateway     writes dist/gateway.mjs (and dist/gateway-chunks/);   node dist/gateway.mjs   runs it
 */
export const GATEWAY_BUNDLE = "dist/gateway.mjs";

/**
 * V8 flags the gateway runs with wherever it is launched (npm start, the e2e server, the memory
 * bench): none today. `--max-semi-space-size=4` (a smaller young generation) was measured for
 * issue 15's 150 MB peak bar and did not earn its place: on a loaded machine, where calls stayed
 * in flight for seconds, it promoted them to the old generation and peak RSS rose (196 → 288 MB,
 * bench/gateway-memory.ts, load average 16 to 22). Try others with `--node-flags "<flags>"`.
 */
export const GATEWAY_NODE_FLAGS: string[] = [];

/**
 * Environment the gateway process starts with wherever it is launched (npm start, deploy/systemd,
 * the memory bench). `MALLOC_ARENA_MAX=2`: glibc gives each thread that allocates (libuv's pool
 * writes the audit spool, the TLS and zlib work of 1,000 sockets) an arena of its own, up to 8 per
 * core, and memory freed in one is kept for it rather than returned to the system. After 1,000
 * clients came and went, the gateway's heap was back where it started but its RSS stayed 12 MB
 * (15 %) above; with two arenas it came back within 8 % (bench/gateway-memory.ts, load about 1),
 * and peak RSS fell from 145 to 137 MB. Node's own threads still allocate, from the two arenas.
 * The price, measured in bench:gateway (two runs each way, load 0.1 to 2): at c=1 no difference
 * beyond the noise (1.73 to 2.00× the bare proxy's CPU with it, 1.83 to 1.86× without); at c=32
 * the gateway spent 808 to 878 µs per call against 741 to 748, V8's parallel GC threads sharing
 * one arena. RSS that stays after a burst is what an operator sees; that trade is the one taken.
 */
export const GATEWAY_PROCESS_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: "2" };

/**
 * `outfile` must lie inside `root`, so that the bundle finds its packages in root/node_modules;
 * its chunks go to `<outfile without .mjs>-chunks/` beside it.
 */
export function buildGateway(root: string, outfile = path.join(root, GATEWAY_BUNDLE)): Promise<string> {
  // Stack traces in the gateway's logs name gateway/*.ts lines with `node --enable-source-maps`.
  return bundleModule(root, path.join(root, "gateway/main.ts"), outfile, { sourcemap: true });
}

/**
 * One entry point and the code it imports as one ES module (the gateway, or a bench that runs it
 * in process), npm packages left to root/node_modules, and what it imports on demand
 * (`await import(…)`) split into chunks loaded when first imported, not code every run loads.
 */
export async function bundleModule(root: string, entry: string, outfile: string, options: { sourcemap?: boolean } = {}): Promise<string> {
  const { build } = await import("esbuild");
  const name = path.basename(outfile, ".mjs");
  await build({
    entryPoints: { [name]: entry },
    outdir: path.dirname(outfile),
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: `${name}-chunks/[name]-[hash]`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    tsconfig: path.join(root, "tsconfig.json"),
    ...(options.sourcemap ? { sourcemap: "linked" as const } : {}),
    logLevel: "warning",
  });
  return outfile;
}
