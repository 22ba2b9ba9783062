/** `npm run build:gateway`: dist/gateway.mjs, the gateway as production runs it (scripts/lib/gateway-bundle.ts). */
import path from "node:path";
import { fileURLToPath } from "node:url";

import { buildGateway } from "./lib/gateway-bundle";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const outfile = await buildGateway(root);
process.stdout.write(`Built ${path.relative(root, outfile)}: run it with  node ${path.relative(root, outfile)}\n`);
