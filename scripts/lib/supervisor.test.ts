import { describe, expect, it } from "vitest";
import { DEFAULT_BACKOFF, describeExit, formatDelay, nextRestartDelay } from "./supervisor";

describe("restart backoff", () => {
  it.each([
    { previous: null, ranFor: 10, expected: 500, why: "first crash" },
    { previous: 500, ranFor: 10, expected: 1_000, why: "a quick second crash doubles" },
    { previous: 16_000, ranFor: 10, expected: 30_000, why: "capped" },
    { previous: 30_000, ranFor: 59_999, expected: 30_000, why: "stays capped while it keeps crashing within a minute" },
    { previous: 30_000, ranFor: 60_000, expected: 500, why: "a minute of running starts over" },
  ])("$why: $previous ms after $ranFor ms running → $expected ms", ({ previous, ranFor, expected }) => {
    expect(nextRestartDelay(previous, ranFor, DEFAULT_BACKOFF)).toBe(expected);
  });

  it("goes 0.5, 1, 2, 4, 8, 16, 30, 30 s for a part that keeps crashing at once", () => {
    const delays: number[] = [];
    let previous: number | null = null;
    for (let i = 0; i < 8; i++) delays.push((previous = nextRestartDelay(previous, 0)));
    expect(delays.map(formatDelay)).toEqual(["0.5 s", "1 s", "2 s", "4 s", "8 s", "16 s", "30 s", "30 s"]);
  });
});

describe("the console's words", () => {
  it("names the signal, or the exit code", () => {
    expect(describeExit(null, "SIGKILL")).toBe("signal SIGKILL");
    expect(describeExit(1, null)).toBe("exit 1");
  });
});
