import { describe, expect, it } from "vitest";
import { formatClockTime, formatDateTime, formatRelativeTime } from "./format";

describe("formatRelativeTime", () => {
  const now = Date.parse("2026-03-05T12:00:00Z");
  const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;

  it.each([
    [0, "just now"],
    [-29_000, "just now"],
    [-59_000, "1 minute ago"],
    [30_000, "in 30 seconds"],
    [59_000, "in 59 seconds"],
    [-MINUTE, "1 minute ago"],
    // Nearest, not down: a 15-minute grant approved 20 s ago, and one nearly an hour away.
    [14 * MINUTE + 40_000, "in 15 minutes"],
    [15 * MINUTE - 1_000, "in 15 minutes"],
    [-(14 * MINUTE + 20_000), "14 minutes ago"],
    [59 * MINUTE + 50_000, "in 1 hour"],
    [-(23 * HOUR + 50 * MINUTE), "yesterday"],
    [-3 * MINUTE, "3 minutes ago"],
    [5 * MINUTE, "in 5 minutes"],
    [-2 * HOUR, "2 hours ago"],
    [-DAY, "yesterday"],
    [2 * DAY, "in 2 days"],
    [-7 * DAY, "last week"],
    [-14 * DAY, "2 weeks ago"],
    [-60 * DAY, "2 months ago"],
    [-400 * DAY, "last year"],
    [-3 * 365 * DAY, "3 years ago"],
  ])("%d ms → %j", (offset, expected) => {
    expect(formatRelativeTime(at(offset), now)).toBe(expected);
  });

  it("takes a Date as well as an ISO string", () => {
    expect(formatRelativeTime(new Date(now - 3 * MINUTE), now)).toBe("3 minutes ago");
  });
});

describe("formatClockTime", () => {
  it("says UTC when asked for it, so a server's render and a hydrating browser agree", () => {
    expect(formatClockTime("2026-03-05T12:07:09Z", "UTC")).toBe("12:07:09 PM UTC");
    expect(formatClockTime("2026-03-05T12:07:09Z", "Europe/Berlin")).toBe("1:07:09 PM");
  });
});

describe("formatDateTime", () => {
  it("gives the date and the time to the minute", () => {
    // The time zone of the machine decides the day and hour; the shape stays.
    expect(formatDateTime("2026-03-05T12:07:00Z")).toMatch(/^Mar [4-6], 2026, \d{1,2}:\d{2}\s[AP]M$/);
    expect(formatDateTime(new Date("2026-03-05T12:07:00Z"))).toBe(formatDateTime("2026-03-05T12:07:00Z"));
  });
});
