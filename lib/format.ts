// Pure text formatting shared by the dashboard's pages: no React, no DOM, safe on the server.

const MINUTE_MS = 60_000;

// A fixed locale, so that the server's first paint and the browser agree.
const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "long" });

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

/** What a shown time consists of: the date and the time to the minute, or the time of day to the second. */
export type TimeShape = "date-time" | "time";

const SHAPES: Record<TimeShape, Intl.DateTimeFormatOptions> = {
  "date-time": { dateStyle: "medium", timeStyle: "short" },
  time: { timeStyle: "medium" },
};
const formats = new Map<string, Intl.DateTimeFormat>();

/**
 * "Mar 5, 2026, 2:07 PM" or "2:07:15 PM": `value` in the viewer's time zone, or in the one given.
 * In "UTC" the text says so ("2:07 PM UTC"): that is what the server renders before the browser,
 * which alone knows the viewer's zone, takes over (see LocalTime). A fixed locale, so that the
 * two renders differ only by the zone.
 */
export function formatTime(value: string | Date, shape: TimeShape = "date-time", timeZone?: string): string {
  const key = `${shape} ${timeZone ?? ""}`;
  let format = formats.get(key);
  if (!format) formats.set(key, (format = new Intl.DateTimeFormat("en", { ...SHAPES[shape], ...(timeZone ? { timeZone } : {}) })));
  const text = format.format(typeof value === "string" ? new Date(value) : value);
  return timeZone === "UTC" ? `${text} UTC` : text;
}

/**
 * "2026-03-05 14:07 UTC": a time in text that leaves Portico or is stored (alert titles sent by
 * webhook and e-mail, change descriptions), where no viewer's zone applies. `splitUtcTimes` finds
 * these again, so the dashboard can show each in the viewer's zone.
 */
export function formatUtcText(value: Date): string {
  return `${value.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

const UTC_TEXT = /(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}) UTC/g;

/** A text cut at each time written by `formatUtcText`: strings, and the times as ISO instants. */
export function splitUtcTimes(text: string): (string | { iso: string })[] {
  const parts: (string | { iso: string })[] = [];
  let last = 0;
  for (const match of text.matchAll(UTC_TEXT)) {
    const iso = `${match[1]}T${match[2]}:00.000Z`;
    if (Number.isNaN(Date.parse(iso))) continue;
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push({ iso });
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

/**
 * "12 s", "3 min", "1 h 5 min": how long something has waited. Seconds count while they matter
 * (the first minute), then minutes to the nearest one, as a person would say it.
 */
export function formatWaited(fromMs: number, nowMs: number): string {
  const seconds = Math.max(0, Math.floor((nowMs - fromMs) / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`;
}

/**
 * "29:41", "1:02:03": what is left of a window until `endMs`, to the second, as a countdown shows
 * it; "0:00" once it is over (the caller says "ended").
 */
export function formatTimeLeft(endMs: number, nowMs: number): string {
  const total = Math.max(0, Math.ceil((endMs - nowMs) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}
