/**
 * How the overview's charts name their buckets and colour their series. Pure, so the labels can
 * be checked in any locale without a browser.
 */

type Zone = { locale?: string; timeZone?: string };

/**
 * A tick label that reads the same in every locale: the time as hours and minutes, the date as
 * day and month, both for buckets shorter than a day over more than a day. One `toLocaleString`
 * with `hour` alone printed "6 Dec, 23" in en-GB, where 23 reads as a year or a day. In the
 * viewer's zone (`timeZone` is for tests): the charts render in the browser only.
 */
export function timeLabel(iso: string, range: string, { locale, timeZone }: Zone = {}): string {
  const d = new Date(iso);
  const date = () => d.toLocaleDateString(locale, { month: "short", day: "numeric", timeZone });
  const time = () => d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone });
  if (range === "30d") return date();
  if (range === "7d") return `${date()} ${time()}`;
  return time();
}

/**
 * The time axis of a chart: which buckets get a tick and what each says. Within a day (up to the
 * last 24 hours) a tick gives the time alone, and the day too where it changes (and on the first
 * tick, when the ticks span more than one day): "23:00" then "01:00" read as one night only if
 * the second says "7 Dec 01:00". `ticks` is undefined where every label carries its date anyway.
 */
export function timeAxis(times: readonly string[], range: string, { count = 6, ...zone }: Zone & { count?: number } = {}): { ticks?: string[]; label: (iso: string) => string } {
  if (range === "7d" || range === "30d") return { label: (iso) => timeLabel(iso, range, zone) };
  const step = Math.max(1, Math.ceil(times.length / count));
  const ticks = times.filter((_, i) => i % step === 0);
  const dayOf = (iso: string) => new Date(iso).toLocaleDateString("en-CA", { timeZone: zone.timeZone });
  const isOneDay = new Set(ticks.map(dayOf)).size <= 1;
  const labels = new Map<string, string>();
  ticks.forEach((iso, i) => {
    const time = timeLabel(iso, range, zone);
    const isNewDay = i === 0 || dayOf(iso) !== dayOf(ticks[i - 1]!);
    labels.set(iso, isOneDay || !isNewDay ? time : `${timeLabel(iso, "30d", zone)} ${time}`);
  });
  return { ticks, label: (iso) => labels.get(iso) ?? timeLabel(iso, range, zone) };
}

/**
 * Series colours from Okabe and Ito's and Paul Tol's palettes, picked so that every pair stays
 * apart (CIE ΔE above 20) with normal vision and with protanopia, deuteranopia and tritanopia
 * (chart-format.test.ts): the theme's destructive red and chart-4 were two
 * near-identical reds for "denied" and "withdrawn" (and for high and critical alerts).
 */
export const STEPUP_COLORS = { approved: "#117733", denied: "#882255", expired: "#999999", withdrawn: "#E69F00", pending: "#56B4E9" } as const;
export const SEVERITY_COLORS = { low: "#56B4E9", medium: "#DDCC77", high: "#D55E00", critical: "#332288" } as const;
