import path from "node:path";

import { ROOT } from "./ipc";

/**
 * A bench script bundled as scripts/lib/gateway-bundle.ts bundles the gateway (one ES module,
 * split at its dynamic imports so that what the gateway loads on demand, tracing, stays out until
 * asked for), into dist/bench/<name>.mjs: two levels under the root, where ROOT (ipc.ts) still
 * resolves and packages resolve from node_modules. Run under plain node, it measures the gateway
 * as it ships rather than as tsx runs the sources (tsx keeps every function's name, a property
 * definition per closure created). esbuild is tsx's own transpiler, installed wherever tsx is.
 */
export async function bundleBench(script: string): Promise<string> {
  const { build } = await import("esbuild");
  const name = path.basename(script, path.extname(script));
  const outdir = path.join(ROOT, "dist/bench");
  await build({
    entryPoints: { [name]: script },
    outdir,
    outExtension: { ".js": ".mjs" },
    splitting: true,
    chunkNames: `${name}-chunks/[name]-[hash]`,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    tsconfig: path.join(ROOT, "tsconfig.json"),
    logLevel: "warning",
  });
  return path.join(outdir, `${name}.mjs`);
}
