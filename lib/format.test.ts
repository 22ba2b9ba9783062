import { describe, expect, it } from "vitest";
import { formatRelativeTime, formatTime, formatTimeLeft, formatUtcText, formatWaited, splitUtcTimes } from "./format";

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

describe("formatTime", () => {
  const at = "2026-03-05T12:07:09Z";

  it("says UTC when asked for it, so a server's render and a hydrating browser agree", () => {
    expect(formatTime(at, "date-time", "UTC")).toBe("Mar 5, 2026, 12:07 PM UTC");
    expect(formatTime(at, "time", "UTC")).toBe("12:07:09 PM UTC");
  });

  it("gives the wall clock of the viewer's zone, without naming it", () => {
    expect(formatTime(at, "date-time", "America/Los_Angeles")).toBe("Mar 5, 2026, 4:07 AM");
    expect(formatTime(at, "time", "Europe/Berlin")).toBe("1:07:09 PM");
    // Past midnight in Singapore: the date moves on too.
    expect(formatTime("2026-03-05T18:30:00Z", "date-time", "Asia/Singapore")).toBe("Mar 6, 2026, 2:30 AM");
    // Berlin's summer time starts on 29 March.
    expect(formatTime("2026-03-29T12:00:00Z", "time", "Europe/Berlin")).toBe("2:00:00 PM");
  });

  it("takes a Date as well as an ISO string, and the machine's zone when given none", () => {
    expect(formatTime(new Date(at), "date-time", "Asia/Singapore")).toBe(formatTime(at, "date-time", "Asia/Singapore"));
    expect(formatTime(at)).toMatch(/^Mar [4-6], 2026, \d{1,2}:\d{2}\s[AP]M$/);
  });
});

describe("times in stored text", () => {
  it("are written in UTC, saying so, and found again as instants", () => {
    const title = `Step-up request by Nightly waiting since ${formatUtcText(new Date("2026-03-05T23:40:59Z"))}`;
    expect(title).toBe("Step-up request by Nightly waiting since 2026-03-05 23:40 UTC");
    expect(splitUtcTimes(title)).toEqual(["Step-up request by Nightly waiting since ", { iso: "2026-03-05T23:40:00.000Z" }]);
    expect(splitUtcTimes("from 2026-03-05 01:00 UTC to 2026-03-06 01:00 UTC.")).toEqual(["from ", { iso: "2026-03-05T01:00:00.000Z" }, " to ", { iso: "2026-03-06T01:00:00.000Z" }, "."]);
  });

  it("leave other text alone, and a date that is no date", () => {
    expect(splitUtcTimes("Upstream server Billing is failing")).toEqual(["Upstream server Billing is failing"]);
    expect(splitUtcTimes("at 2026-13-45 25:00 UTC")).toEqual(["at 2026-13-45 25:00 UTC"]);
  });
});

describe("formatWaited", () => {
  const start = Date.parse("2026-03-05T12:00:00Z");
  it.each([
    [0, "0 s"],
    [59_999, "59 s"],
    [60_000, "1 min"],
    // To the nearest minute, not down as a stopwatch: 2 min 50 s is "3 min".
    [170_000, "3 min"],
    [29 * 60_000 + 20_000, "29 min"],
    [59 * 60_000 + 40_000, "1 h"],
    [65 * 60_000, "1 h 5 min"],
    [3 * 3_600_000 + 59 * 60_000 + 50_000, "4 h"],
    // A clock a little ahead of the request's: not "-1 s".
    [-2_000, "0 s"],
  ])("%d ms → %j", (waited, expected) => {
    expect(formatWaited(start, start + waited)).toBe(expected);
  });
});

describe("formatTimeLeft", () => {
  const end = Date.parse("2026-12-08T10:30:00Z");
  it.each([
    [end - 30 * 60_000, "30:00"],
    [end - (29 * 60_000 + 41_000), "29:41"],
    [end - 400, "0:01"],
    [end - (62 * 60_000 + 3_000), "1:02:03"],
    [end, "0:00"],
    [end + 5_000, "0:00"],
  ])("at %i: %s", (now, text) => {
    expect(formatTimeLeft(end, now)).toBe(text);
  });
});
