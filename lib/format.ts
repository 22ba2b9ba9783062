// Pure text formatting shared by the dashboard's pages: no React, no DOM, safe on the server.

const MINUTE_MS = 60_000;

// A fixed locale, so that the server's first paint and the browser agree.
const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "long" });
const dateTimeFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

// Each unit, and how many of it make the next one.
const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
  ["week", 4.35],
  ["month", 12],
];

/**
 * "just now", "in 40 seconds", "3 minutes ago", "in 2 days", "last week": `value` relative to
 * `nowMs`, rounded to the nearest unit (14 min 40 s is "in 15 minutes"; 59 min 50 s is "in 1
 * hour", not "in 60 minutes"). Under a minute, the past is "just now" and the future counts
 * seconds, as "Waiting 12 s" does: "expires just now" would say it is over.
 */
export function formatRelativeTime(value: string | Date, nowMs: number): string {
  const date = typeof value === "string" ? new Date(value) : value;
  const ms = date.getTime() - nowMs;
  let amount = ms / MINUTE_MS;
  const seconds = Math.round(ms / 1000);
  if (seconds > 0 && seconds < 60) return relativeFormat.format(seconds, "second");
  if (Math.round(Math.abs(amount)) < 1) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(Math.round(amount)) < size) return relativeFormat.format(Math.round(amount), unit);
    amount /= size;
  }
  return relativeFormat.format(Math.round(amount), "year");
}

/**
 * "2:07:15 PM": a time of day, in the local time zone or the one given ("UTC" where the viewer's
 * zone is not known yet: the server's render and the hydrating browser must agree).
 */
export function formatClockTime(value: string | Date, timeZone?: string): string {
  const date = typeof value === "string" ? new Date(value) : value;
  const text = new Intl.DateTimeFormat("en", { timeStyle: "medium", ...(timeZone ? { timeZone } : {}) }).format(date);
  return timeZone === "UTC" ? `${text} UTC` : text;
}

/** "Mar 5, 2026, 2:07 PM" in the local time zone; the title of a relative time. */
export function formatDateTime(value: string | Date): string {
  return dateTimeFormat.format(typeof value === "string" ? new Date(value) : value);
}
