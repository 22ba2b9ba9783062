import type { ChildProcess } from "node:child_process";

/**
 * Keeps one long-running part of Portico (the control plane, a gateway) running under `npm start`:
 * a process that exits without being asked to is started again after a backoff, with a line on
 * the console, while the other parts keep serving. The first start is different: a part that
 * exits before it was ever ready (a port in use, a missing variable) is a failed start, not a
 * crash, and is not retried, so a misconfiguration stops `npm start` at once instead of looping.
 *
 * In production the same job belongs to systemd or the container runtime (see the README); this is
 * the one-machine `npm start` equivalent.
 */

export type BackoffPolicy = {
  /** Delay before the first restart, and again after a process has run for `resetAfterMs`. */
  initialMs: number;
  /** Each quick crash doubles the delay up to this. */
  maxMs: number;
  /** A process that ran this long counts as healthy: its crash starts the backoff over. */
  resetAfterMs: number;
};

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 };

/** The delay before the next start, given the previous delay (null: none yet) and how long the process ran. */
export function nextRestartDelay(previousMs: number | null, ranForMs: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  if (previousMs === null || ranForMs >= policy.resetAfterMs) return policy.initialMs;
  return Math.min(policy.maxMs, previousMs * 2);
}

/** "0.5 s", "1 s", "30 s": how the console says a delay. */
export function formatDelay(ms: number): string {
  const seconds = Math.round(ms / 100) / 10;
  return `${seconds} s`;
}

/** How the console says an exit: "signal SIGKILL" or "exit 1". */
export function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `signal ${signal}` : `exit ${code ?? "unknown"}`;
}

export type SuperviseOptions = {
  /** As the console names it: "gateway", "control plane". */
  name: string;
  /** Starts a fresh process; called for the first start and every restart. */
  spawn: () => ChildProcess;
  /** True once a freshly started process serves; polled after every start. */
  isReady: () => Promise<boolean>;
  say: (line: string) => void;
  backoff?: Partial<BackoffPolicy>;
  /** How long a first start may take before it counts as failed. */
  startTimeoutMs?: number;
  /** How long `stop` waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
  /** Where a line about the part's log goes with a crash, e.g. "see .data/logs/gateway.log". */
  hint?: string;
  now?: () => number;
};

export type Supervised = {
  readonly name: string;
  /** The running process's pid, or null between a crash and its restart. */
  readonly pid: number | null;
  /** Restarts after unexpected exits so far. */
  readonly restarts: number;
  /** Resolves once the first process is ready; rejects if it exits or times out before (no restart then). */
  readonly started: Promise<void>;
  /** Stops the part for good: SIGTERM, then SIGKILL after the timeout. Resolves once it has exited. */
  stop(): Promise<void>;
};

const POLL_MS = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function supervise(options: SuperviseOptions): Supervised {
  const policy = { ...DEFAULT_BACKOFF, ...options.backoff };
  const now = options.now ?? Date.now;
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let isStopping = false;
  let hasStarted = false;
  let restarts = 0;
  let lastDelay: number | null = null;
  let restartTimer: NodeJS.Timeout | undefined;

  let resolveStarted!: () => void;
  let rejectStarted!: (error: Error) => void;
  const started = new Promise<void>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  // A caller that never awaits `started` must not see an unhandled rejection.
  started.catch(() => undefined);

  const isAlive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null;

  /** Polls readiness until it is ready (true), the process exited or the deadline passed (false). */
  async function waitReady(c: ChildProcess, deadline: number): Promise<boolean> {
    while (isAlive(c) && !isStopping && now() < deadline) {
      if (await options.isReady().catch(() => false)) return isAlive(c);
      await sleep(POLL_MS);
    }
    return false;
  }

  function startOnce(): void {
    const startedAt = now();
    const c = options.spawn();
    child = c;
    exited = new Promise((resolve) => c.once("exit", () => resolve()));
    c.once("exit", (code, signal) => onExit(c, startedAt, code, signal));
    c.once("error", () => undefined);
    void waitReady(c, startedAt + (hasStarted ? policy.maxMs + startTimeoutMs : startTimeoutMs)).then((isReady) => {
      if (!isReady || isStopping || child !== c) return;
      if (!hasStarted) {
        hasStarted = true;
        resolveStarted();
      } else {
        options.say(`The ${options.name} is serving again (pid ${c.pid}).`);
      }
    });
    if (!hasStarted) {
      // Not ready in time at the first start: a failed start, as if it had exited.
      setTimeout(() => {
        if (!hasStarted && !isStopping && child === c) {
          rejectStarted(new Error(`the ${options.name} did not become ready within ${startTimeoutMs / 1000} s`));
          void stop();
        }
      }, startTimeoutMs).unref();
    }
  }

  function onExit(c: ChildProcess, startedAt: number, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === c) child = null;
    if (isStopping) return;
    const how = describeExit(code, signal);
    if (!hasStarted) {
      isStopping = true;
      rejectStarted(new Error(`the ${options.name} stopped before it was ready (${how})${options.hint ? `; ${options.hint}` : ""}`));
      return;
    }
    const delay = nextRestartDelay(lastDelay, now() - startedAt, policy);
    lastDelay = delay;
    restarts += 1;
    options.say(`The ${options.name} stopped (${how}); restarting in ${formatDelay(delay)}${options.hint ? ` (${options.hint})` : ""}.`);
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (!isStopping) startOnce();
    }, delay);
  }

  async function stop(): Promise<void> {
    isStopping = true;
    clearTimeout(restartTimer);
    const c = child;
    if (!c || !isAlive(c)) return;
    c.kill("SIGTERM");
    const timer = setTimeout(() => {
      if (isAlive(c)) c.kill("SIGKILL");
    }, stopTimeoutMs);
    await exited;
    clearTimeout(timer);
  }

  startOnce();

  return {
    name: options.name,
    get pid() {
      return child?.pid ?? null;
    },
    get restarts() {
      return restarts;
    },
    started,
    stop,
  };
}
