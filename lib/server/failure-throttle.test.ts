import { describe, expect, it } from "vitest";
import { createFailureThrottle } from "./failure-throttle";

const MIN = 60_000;

function throttle(maxKeys?: number) {
  let t = 1_000_000;
  const clock = { advance: (ms: number) => (t += ms) };
  const th = createFailureThrottle({ maxFailures: 3, windowMs: 5 * MIN, lockMs: 30_000, maxLockMs: 2 * MIN, maxKeys, now: () => t });
  return { th, clock };
}

describe("failure throttle", () => {
  it("locks a key out at the threshold within the window, and only that key", () => {
    const { th, clock } = throttle();
    expect(th.recordFailure(["client:a", "ip:1"])).toEqual([]);
    clock.advance(1_000);
    th.recordFailure(["client:a", "ip:1"]);
    expect(th.retryAfterMs(["client:a"])).toBe(0);
    expect(th.recordFailure(["client:a", "ip:2"])).toEqual([{ key: "client:a", lockMs: 30_000, lockouts: 1 }]);
    expect(th.retryAfterMs(["client:a"])).toBe(30_000);
    expect(th.retryAfterMs(["client:b", "ip:1"])).toBe(0);
    // The most restrictive key decides.
    expect(th.retryAfterMs(["client:b", "ip:9", "client:a"])).toBe(30_000);
    clock.advance(30_000);
    expect(th.retryAfterMs(["client:a"])).toBe(0);
  });

  it("forgets failures older than the window", () => {
    const { th, clock } = throttle();
    th.recordFailure(["k"]);
    th.recordFailure(["k"]);
    clock.advance(5 * MIN);
    expect(th.recordFailure(["k"])).toEqual([]);
    expect(th.retryAfterMs(["k"])).toBe(0);
  });

  it("doubles each further lockout up to the cap, and starts over after a quiet window", () => {
    const { th, clock } = throttle();
    const lockOut = () => {
      let started: ReturnType<typeof th.recordFailure> = [];
      for (let i = 0; i < 3; i++) started = th.recordFailure(["k"]);
      return started[0]?.lockMs;
    };
    const lengths: Array<number | undefined> = [];
    for (let i = 0; i < 4; i++) {
      lengths.push(lockOut());
      clock.advance(th.retryAfterMs(["k"]));
    }
    expect(lengths).toEqual([30_000, 60_000, 120_000, 120_000]);
    clock.advance(5 * MIN);
    expect(lockOut()).toBe(30_000);
  });

  it("does not count failures while locked out (they are refused before anything is checked)", () => {
    const { th, clock } = throttle();
    for (let i = 0; i < 3; i++) th.recordFailure(["k"]);
    for (let i = 0; i < 10; i++) expect(th.recordFailure(["k"])).toEqual([]);
    clock.advance(30_000);
    expect(th.retryAfterMs(["k"])).toBe(0);
    expect(th.recordFailure(["k"])).toEqual([]);
  });

  it("a success resets the key", () => {
    const { th } = throttle();
    th.recordFailure(["client:a"]);
    th.recordFailure(["client:a"]);
    th.recordSuccess("client:a");
    expect(th.recordFailure(["client:a"])).toEqual([]);
    expect(th.recordFailure(["client:a"])).toEqual([]);
  });

  it("stays within its size, keeps a lockout against a flood of fresh keys, and sweeps idle keys", () => {
    const { th, clock } = throttle(100);
    for (let i = 0; i < 3; i++) th.recordFailure(["client:victim"]);
    for (let i = 0; i < 1_000; i++) th.recordFailure([`client:random-${i}`]);
    expect(th.size()).toBe(100);
    expect(th.retryAfterMs(["client:victim"])).toBe(30_000);
    clock.advance(5 * MIN + 30_000);
    th.retryAfterMs([]);
    expect(th.size()).toBe(0);
  });
});
