// `node --import ./bench/support/no-server-only.mjs`: lets a bench load route handlers outside Next.
// `server-only` throws outside a React Server Components bundle, and the react-server condition
// that silences it breaks next-auth's client imports; the unit tests alias it the same way
// (vitest.config.ts → scripts/empty-module.ts).
import { register } from "node:module";

const hook = `export async function resolve(specifier, context, next) {
  if (specifier === "server-only") return { url: "data:text/javascript,export {}", shortCircuit: true };
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
