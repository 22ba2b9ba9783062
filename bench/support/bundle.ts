import path from "node:path";

import { bundleModule } from "../../scripts/lib/gateway-bundle";
import { ROOT } from "./ipc";

/**
 * A bench script bundled as scripts/lib/gateway-bundle.ts bundles the gateway (one ES module,
 * split at its dynamic imports so that what the gateway loads on demand, tracing, stays out until
 * asked for), into dist/bench/<name>.mjs: two levels under the root, where ROOT (ipc.ts) still
 * resolves and packages resolve from node_modules. Run under plain node, it measures the gateway
 * as it ships rather than as tsx runs the sources (tsx keeps every function's name, a property
 * definition per closure created).
 */
export function bundleBench(script: string): Promise<string> {
  const name = path.basename(script, path.extname(script));
  return bundleModule(ROOT, script, path.join(ROOT, "dist/bench", `${name}.mjs`));
}
