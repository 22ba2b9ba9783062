import { describe, expect, it } from "vitest";
import { formatDateTime, formatRelativeTime } from "./format";

describe("formatRelativeTime", () => {
  const now = Date.parse("2026-03-05T12:00:00Z");
  const at = (offsetMs: number) => new Date(now + offsetMs).toISOString();
  const MINUTE = 60_000;
  const HOUR = 60 * MINUTE;
  const DAY = 24 * HOUR;

  it.each([
    [0, "just now"],
    [-59_000, "just now"],
    [30_000, "just now"],
    [-MINUTE, "1 minute ago"],
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

describe("formatDateTime", () => {
  it("gives the date and the time to the minute", () => {
    // The time zone of the machine decides the day and hour; the shape stays.
    expect(formatDateTime("2026-03-05T12:07:00Z")).toMatch(/^Mar [4-6], 2026, \d{1,2}:\d{2}\s[AP]M$/);
    expect(formatDateTime(new Date("2026-03-05T12:07:00Z"))).toBe(formatDateTime("2026-03-05T12:07:00Z"));
  });
});
