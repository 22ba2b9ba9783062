/**
 * Counts authentication failures per key (a client id, a source address) and locks a key out once
 * it has failed `maxFailures` times within `windowMs`. Each lockout of the same key lasts twice the
 * previous one, up to `maxLockMs`; a key that stays quiet for a window after its lock ended starts
 * over. In memory, per process: it slows guessing down, it is not an account state (a restart
 * forgets it, and each control-plane replica counts on its own).
 *
 * Memory stays bounded: at most `maxKeys` keys, idle ones dropped by a sweep that runs at most
 * once a window, and when full the least recently touched key that is not locked out goes first,
 * so a flood of fresh keys (random client ids) cannot push an active lockout out.
 */

export type FailureThrottleOptions = {
  maxFailures: number;
  windowMs: number;
  /** The first lockout; each further one of the same key doubles it. */
  lockMs: number;
  maxLockMs: number;
  maxKeys?: number;
  now?: () => number;
};

type Entry = {
  /** Failure times within the window, oldest first; never more than maxFailures. */
  failures: number[];
  lockedUntil: number;
  /** Lockouts so far: the exponent of the next lockout's length. */
  lockouts: number;
  lastTouched: number;
};

export type Lockout = { key: string; lockMs: number; lockouts: number };

export type FailureThrottle = ReturnType<typeof createFailureThrottle>;

export function createFailureThrottle(options: FailureThrottleOptions) {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 10_000;
  // A Map iterates in insertion order: re-inserting on every touch keeps it least-recent first.
  const entries = new Map<string, Entry>();
  let lastSweep = now();

  const touch = (key: string, entry: Entry, at: number) => {
    entry.lastTouched = at;
    entries.delete(key);
    entries.set(key, entry);
  };

  const isIdle = (entry: Entry, at: number) =>
    entry.lockedUntil + options.windowMs <= at && (entry.failures.length === 0 || entry.failures.at(-1)! + options.windowMs <= at);

  function sweep(at: number) {
    if (at - lastSweep < options.windowMs) return;
    lastSweep = at;
    for (const [key, entry] of entries) if (isIdle(entry, at)) entries.delete(key);
  }

  function evictOne(at: number) {
    for (const [key, entry] of entries) {
      if (entry.lockedUntil <= at) {
        entries.delete(key);
        return;
      }
    }
    // Every key is locked out: the oldest goes after all.
    const oldest = entries.keys().next();
    if (!oldest.done) entries.delete(oldest.value);
  }

  return {
    /** Milliseconds until the most restrictive of `keys` may try again; 0 when none is locked out. */
    retryAfterMs(keys: readonly string[]): number {
      const at = now();
      sweep(at);
      let wait = 0;
      for (const key of keys) {
        const entry = entries.get(key);
        if (entry && entry.lockedUntil > at) wait = Math.max(wait, entry.lockedUntil - at);
      }
      return wait;
    },

    /** Counts a failure against each key; returns the lockouts it started. */
    recordFailure(keys: readonly string[]): Lockout[] {
      const at = now();
      sweep(at);
      const started: Lockout[] = [];
      for (const key of keys) {
        let entry = entries.get(key);
        if (entry && isIdle(entry, at)) {
          entries.delete(key);
          entry = undefined;
        }
        if (!entry) {
          if (entries.size >= maxKeys) evictOne(at);
          entry = { failures: [], lockedUntil: 0, lockouts: 0, lastTouched: at };
        }
        touch(key, entry, at);
        // Failures while locked out are refused before they are tried; they do not count.
        if (entry.lockedUntil > at) continue;
        entry.failures = entry.failures.filter((t) => t + options.windowMs > at);
        entry.failures.push(at);
        if (entry.failures.length >= options.maxFailures) {
          const lockMs = Math.min(options.maxLockMs, options.lockMs * 2 ** entry.lockouts);
          entry.lockouts += 1;
          entry.lockedUntil = at + lockMs;
          entry.failures = [];
          started.push({ key, lockMs, lockouts: entry.lockouts });
        }
      }
      return started;
    },

    /** A success forgets the key's failures and its lockout history. */
    recordSuccess(key: string): void {
      entries.delete(key);
    },

    /** Keys held right now, for tests and metrics. */
    size: () => entries.size,
  };
}
