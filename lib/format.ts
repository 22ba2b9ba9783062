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

/** "just now", "3 minutes ago", "in 2 days", "last week": `value` relative to `nowMs`. */
export function formatRelativeTime(value: string | Date, nowMs: number): string {
  const date = typeof value === "string" ? new Date(value) : value;
  let amount = (date.getTime() - nowMs) / MINUTE_MS;
  if (Math.abs(amount) < 1) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(amount) < size) return relativeFormat.format(Math.round(amount), unit);
    amount /= size;
  }
  return relativeFormat.format(Math.round(amount), "year");
}

/** "Mar 5, 2026, 2:07 PM" in the local time zone; the title of a relative time. */
export function formatDateTime(value: string | Date): string {
  return dateTimeFormat.format(typeof value === "string" ? new Date(value) : value);
}
