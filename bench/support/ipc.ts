import { fork, type ChildProcess } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A tiny request/response protocol over the fork IPC channel: each bench runs what it measures in
 * child processes of one tree, so that nothing measured shares an event loop with what measures it.
 */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Message = { id: number; type: string; [key: string]: unknown };
type Reply = { id: number; result?: unknown; error?: string };
export type Handlers = Record<string, (message: Message) => Promise<unknown>>;

/** Answers the parent's calls in a child process. */
export function serve(handlers: Handlers) {
  process.on("message", (raw) => {
    const message = raw as Message;
    const handler = handlers[message.type];
    const reply = (r: Omit<Reply, "id">) => process.send!({ id: message.id, ...r });
    if (!handler) return reply({ error: `unknown message ${message.type}` });
    handler(message).then(
      (result) => reply({ result }),
      (error: unknown) => reply({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }),
    );
  });
  // The parent going away (Ctrl-C, crash) must not leave servers behind.
  process.on("disconnect", () => process.exit(0));
}

export type Peer = { child: ChildProcess; call<T>(type: string, fields?: Record<string, unknown>): Promise<T> };

/**
 * Forks `script` with `role` as its first argument and returns a way to call it. Under tsx unless
 * `isBuilt` (the script is already JavaScript).
 */
/** `env`: defaults under the bench's own environment (which wins), e.g. GATEWAY_PROCESS_ENV for a gateway. */
export function spawnPeer(script: string, role: string, options: { execArgv?: string[]; isBuilt?: boolean; env?: Readonly<Record<string, string>> } = {}): Peer {
  const child = fork(script, [role], {
    cwd: ROOT,
    execArgv: [...(options.execArgv ?? []), ...(options.isBuilt ? [] : ["--import", "tsx"])],
    env: { ...options.env, ...process.env, PORTICO_GATEWAY_QUIET: "1" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let next = 0;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on("message", (raw) => {
    const reply = raw as Reply;
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (reply.error !== undefined) waiter.reject(new Error(`${role}: ${reply.error}`));
    else waiter.resolve(reply.result);
  });
  child.on("exit", (code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${role} process exited (${code})`));
    pending.clear();
  });
  return {
    child,
    call<T>(type: string, fields: Record<string, unknown> = {}) {
      return new Promise<T>((resolve, reject) => {
        const id = ++next;
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
        child.send({ id, type, ...fields });
      });
    },
  };
}

/** CPU time of this process so far, user + system, in µs. */
export const cpuMicros = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Prints rows as a table: the first row is the header, the first `left` columns are left-aligned. */
export function printTable(rows: string[][], left = 1) {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => r.map((cell, i) => (i < left ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  ");
  console.log(line(rows[0]!));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows.slice(1)) console.log(line(r));
}
