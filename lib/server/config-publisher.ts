import "server-only";
import { systemActor } from "./auth/actor";
import { publishConfigVersion, type PublishOptions, type PublishResult } from "./config-versions";
import type { Db } from "./db/client";
import { pushConfigToGateways } from "./gateways";
import { describeError, log } from "./log";
import { armStepUpTimer } from "./step-up-timer";
import { withSpan } from "./tracing";

// Writes to these collections change what gateways serve: the registry and roles, and everything
// that can end someone's access (users, connected clients, OAuth clients), which becomes a
// revocation on the next snapshot. API tokens are not here: the control plane checks them against
// the database on every request, and gateways never see them. Step-up decisions change the active
// grants the snapshot carries.
const REGISTRY_WRITE = /^\/api\/v1\/(servers|tools|portals|roles|service-accounts|settings|users|connected-clients|oauth-clients|step-up-requests|elevated-grants)(\/|$)/;

export const changesConfig = (method: string, path: string) => method !== "GET" && method !== "HEAD" && method !== "OPTIONS" && REGISTRY_WRITE.test(path);

// One publish at a time in this process; others queue behind it (the database lock covers the rest).
let queue: Promise<unknown> = Promise.resolve();

/**
 * After a committed change: a new signed config version when the config now says something else,
 * pushed to every gateway in the background. A failure is logged and does not fail the change:
 * the next change, or a gateway's pull, catches up.
 */
export function publishConfig(db: Db, summary: string, options: PublishOptions = {}): Promise<PublishResult | null> {
  const run = queue.then(async (): Promise<PublishResult | null> => {
    try {
      return await withSpan("config.publish", {}, async (span) => {
        const result = await publishConfigVersion(db, systemActor("config publisher"), summary.slice(0, 500), options);
        span?.setAttributes({ "portico.config_version": result.version, "portico.config_new": result.isNew });
        if (result.isNew) {
          log("info", "config version published", { version: result.version, summary });
          // In the background: a slow or offline gateway must not hold up the change that was saved.
          // Still in this trace: the push's spans (and the gateways') are children of this one.
          void pushConfigToGateways(db, { version: result.version, jws: result.signature }).catch((error: unknown) =>
            log("error", "pushing a config version failed", { version: result.version, ...describeError(error) }),
          );
        }
        return result;
      });
    } catch (error) {
      log("error", "publishing a config version failed", { summary, ...describeError(error) });
      return null;
    } finally {
      // The next grant end or request expiry publishes again, whether this one made a version or not.
      armStepUpTimer(db, async (next) => void (await publishConfig(db, next)));
    }
  });
  queue = run;
  return run;
}

// Often enough that an expired revocation leaves the snapshot soon after it stops mattering; the
// content hash makes a run that finds nothing changed cost one build and no version.
const REPUBLISH_EVERY_MS = 5 * 60_000;

/**
 * Publishes on a timer, so that revocations drop off the snapshot once no token they could refuse
 * is alive, and a change made outside the API (a seed, a sign-in lockout that failed to publish)
 * still reaches gateways. Nothing waits on it for correctness: an entry whose time comes arrives
 * on the snapshot beforehand (its `at` is in the future), never by this timer.
 */
export function startPeriodicPublish(db: Db, everyMs = REPUBLISH_EVERY_MS): () => void {
  // A tick while the last one still runs is skipped, so a slow database never queues up publishes.
  let isRunning = false;
  const timer = setInterval(() => {
    if (isRunning) return;
    isRunning = true;
    void publishConfig(db, "periodic republish (expired revocations dropped)", { compareDocument: false }).finally(() => (isRunning = false));
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
