import "server-only";
import type { Db } from "./db/client";
import { describeError, log } from "./log";
import { nextStepUpDeadline, sweepStepUps } from "./step-up";

// Re-armed after every publish; never longer than this, so a deadline added by another process is
// not missed by much.
const MAX_WAIT_MS = 5 * 60_000;
let timer: NodeJS.Timeout | null = null;

/**
 * Wakes at the next grant end or pending-request expiry: writes it down (sweepStepUps, with its
 * audit events) and publishes a snapshot without the ended grant. Gateways already refuse an
 * ended grant by its `endsAt`; this keeps the record and the active list honest.
 */
export function armStepUpTimer(db: Db, publish: (summary: string) => Promise<void>): void {
  void nextStepUpDeadline(db)
    .then((deadline) => {
      if (timer) clearTimeout(timer);
      const wait = deadline ? Math.min(Math.max(deadline.getTime() - Date.now(), 0) + 50, MAX_WAIT_MS) : MAX_WAIT_MS;
      timer = setTimeout(() => {
        timer = null;
        void sweepStepUps(db)
          .then((swept) => (swept.endedGrants + swept.expiredRequests > 0 ? publish("step-up grants ended or requests expired") : armStepUpTimer(db, publish)))
          .catch((error: unknown) => log("error", "step-up sweep failed", describeError(error)));
      }, wait);
      timer.unref();
    })
    .catch((error: unknown) => log("error", "could not schedule the step-up sweep", describeError(error)));
}
