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
// The queue holds the publish only, never the push: a slow gateway must not hold up the next version.
let queue: Promise<unknown> = Promise.resolve();

// The push of the newest version this process published, to the live gateways: what a write waits
// for, also when its own publish found nothing new (another write's publish took its change along).
let latestPush: { version: number; done: Promise<void> } = { version: 0, done: Promise.resolve() };

/**
 * How long a write that changes config waits for gateways to run the new version before it
 * answers: long enough for every gateway that is up (a push and an apply take milliseconds), short
 * enough that an offline one does not hold the change up. The push goes on after it, and a gateway
 * it missed pulls the version on its next heartbeat.
 */
export const PUSH_WAIT_MS = 2_500;

export type PublishConfigOptions = PublishOptions & {
  /** Answer once every gateway runs the version, or after this many ms, whichever comes first (0: do not wait). */
  waitForGatewaysMs?: number;
};

/**
 * After a committed change: a new signed config version when the config now says something else,
 * pushed to every gateway. A failure is logged and does not fail the change: the next change, or a
 * gateway's pull, catches up.
 */
export async function publishConfig(db: Db, summary: string, { waitForGatewaysMs = 0, ...options }: PublishConfigOptions = {}): Promise<PublishResult | null> {
  const run = queue.then(() => publishAndStartPush(db, summary, options));
  queue = run;
  const result = await run;
  // A newer version than this write's (another publish right after it) carries its change as well.
  if (result && waitForGatewaysMs > 0 && latestPush.version >= result.version) await withinMs(latestPush.done, waitForGatewaysMs);
  return result;
}

async function publishAndStartPush(db: Db, summary: string, options: PublishOptions): Promise<PublishResult | null> {
  try {
    return await withSpan("config.publish", {}, async (span) => {
      const result = await publishConfigVersion(db, systemActor("config publisher"), summary.slice(0, 500), options);
      span?.setAttributes({ "portico.config_version": result.version, "portico.config_new": result.isNew });
      if (result.isNew) {
        log("info", "config version published", { version: result.version, summary });
        // Not awaited here (the queue moves on); a caller waits for it, bounded, in publishConfig.
        // Still in this trace: the push's spans (and the gateways') are children of this one.
        latestPush = { version: result.version, done: pushConfigToGateways(db, { version: result.version, jws: result.signature }) };
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
}

/** Waits for `done`, but no longer than `ms`; `done` goes on afterwards. */
async function withinMs(done: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
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
