import { spawn, type ChildProcess } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "@/gateway/testing/gateway-process";
import { supervise, type Supervised, type SuperviseOptions } from "./supervisor";

// Real child processes: a small HTTP server per part, answering its own pid, so a test sees which
// process serves, when, and that the other part never stopped.

const SERVER = `
const http = require("node:http");
if (process.env.IGNORE_SIGTERM) process.on("SIGTERM", () => {});
if (process.env.FAIL_AT_START) process.exit(3);
http.createServer((req, res) => res.end(String(process.pid))).listen(Number(process.env.PORT), "127.0.0.1");
`;

const FAST = { initialMs: 100, maxMs: 400, resetAfterMs: 1_500 };
const running: Supervised[] = [];
const spawned: ChildProcess[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
  for (const c of spawned.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
});

async function get(port: number): Promise<number | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1_000) });
    return Number(await res.text());
  } catch {
    return null;
  }
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function part(name: string, extra: Partial<SuperviseOptions> & { env?: Record<string, string> } = {}) {
  const port = await freePort();
  const lines: string[] = [];
  const s = supervise({
    name,
    spawn: () => {
      const c = spawn(process.execPath, ["-e", SERVER], { env: { PATH: process.env.PATH ?? "", NODE_ENV: "test", PORT: String(port), ...extra.env }, stdio: "ignore" });
      spawned.push(c);
      return c;
    },
    isReady: async () => (await get(port)) !== null,
    say: (line) => lines.push(line),
    backoff: FAST,
    ...extra,
  });
  running.push(s);
  return { s, port, lines };
}

describe("supervise (real child processes)", () => {
  it("restarts a part killed with SIGKILL after the backoff, says so, and the other part keeps serving", async () => {
    const gateway = await part("gateway");
    const controlPlane = await part("control plane");
    await Promise.all([gateway.s.started, controlPlane.s.started]);
    const firstPid = gateway.s.pid!;
    const cpPid = controlPlane.s.pid!;
    expect(await get(gateway.port)).toBe(firstPid);

    process.kill(firstPid, "SIGKILL");
    // The control plane answers all the while the gateway is down and coming back.
    let cpAnswers = 0;
    await until("a new gateway process serves", async () => {
      expect(await get(controlPlane.port)).toBe(cpPid);
      cpAnswers += 1;
      const pid = await get(gateway.port);
      return pid !== null && pid !== firstPid;
    });
    expect(cpAnswers).toBeGreaterThan(1);
    expect(gateway.s.restarts).toBe(1);
    expect(controlPlane.s.restarts).toBe(0);
    await until("the console says it is back", () => gateway.lines.length === 2);
    expect(gateway.lines).toEqual([
      "The gateway stopped (signal SIGKILL); restarting in 0.1 s.",
      `The gateway is serving again (pid ${gateway.s.pid}).`,
    ]);
    expect(controlPlane.lines).toEqual([]);
  });

  it("doubles the delay for a part that keeps crashing, up to the cap, and starts over after it ran long enough", async () => {
    const { s, lines } = await part("gateway");
    await s.started;
    for (let i = 0; i < 4; i++) {
      const pid = s.pid!;
      process.kill(pid, "SIGKILL");
      await until(`restart ${i + 1}`, () => s.pid !== null && s.pid !== pid && lines.some((l) => l.includes(`(pid ${s.pid})`)));
    }
    expect(lines.filter((l) => l.includes("stopped")).map((l) => /restarting in ([\d.]+ s)/.exec(l)![1])).toEqual(["0.1 s", "0.2 s", "0.4 s", "0.4 s"]);

    // Healthy for longer than resetAfterMs: the next crash waits the initial delay again.
    await new Promise((r) => setTimeout(r, FAST.resetAfterMs + 100));
    const pid = s.pid!;
    process.kill(pid, "SIGTERM");
    await until("a restart after the long run", () => lines.filter((l) => l.includes("stopped")).length === 5);
    expect(lines.at(-1)).toBe("The gateway stopped (signal SIGTERM); restarting in 0.1 s.");
  });

  it("stops for good when asked: no restart, and SIGKILL for a process that ignores SIGTERM", async () => {
    const { s, port, lines } = await part("control plane", { env: { IGNORE_SIGTERM: "1" }, stopTimeoutMs: 300 });
    await s.started;
    const pid = s.pid!;
    const began = Date.now();
    await s.stop();
    expect(Date.now() - began).toBeGreaterThanOrEqual(250);
    expect(() => process.kill(pid, 0)).toThrow();
    await new Promise((r) => setTimeout(r, FAST.maxMs + 200));
    expect(await get(port)).toBeNull();
    expect(s.pid).toBeNull();
    expect(lines).toEqual([]);
  });

  it("does not retry a part that fails at its first start: `started` rejects with the exit", async () => {
    const { s, lines } = await part("gateway", { env: { FAIL_AT_START: "1" }, hint: "see gateway.log" });
    await expect(s.started).rejects.toThrow("the gateway stopped before it was ready (exit 3); see gateway.log");
    await new Promise((r) => setTimeout(r, FAST.maxMs + 200));
    expect(s.restarts).toBe(0);
    expect(spawned).toHaveLength(1);
    expect(lines).toEqual([]);
  });
});
