import "server-only";
import { systemActor } from "./auth/actor";
import { publishConfigVersion } from "./config-versions";
import type { Db } from "./db/client";
import { pushConfigToGateways } from "./gateways";
import { describeError, log } from "./log";

// Writes to these collections change what gateways serve.
const REGISTRY_WRITE = /^\/api\/v1\/(servers|tools|portals|roles|service-accounts|settings)(\/|$)/;

export const changesConfig = (method: string, path: string) => method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && REGISTRY_WRITE.test(path);

// One publish at a time in this process; others queue behind it (the database lock covers the rest).
let queue: Promise<unknown> = Promise.resolve();

/**
 * After a committed change: a new signed config version when the config now says something else,
 * pushed to every gateway in the background. A failure is logged and does not fail the change:
 * the next change, or a gateway's pull, catches up.
 */
export function publishConfig(db: Db, summary: string): Promise<void> {
  const run = queue.then(async () => {
    try {
      const result = await publishConfigVersion(db, systemActor("config publisher"), summary.slice(0, 500));
      if (result.isNew) {
        log("info", "config version published", { version: result.version, summary });
        // In the background: a slow or offline gateway must not hold up the change that was saved.
        void pushConfigToGateways(db, { version: result.version, jws: result.signature }).catch((error: unknown) =>
          log("error", "pushing a config version failed", { version: result.version, ...describeError(error) }),
        );
      }
    } catch (error) {
      log("error", "publishing a config version failed", { summary, ...describeError(error) });
    }
  });
  queue = run;
  return run;
}
