/**
 * How the overview's charts name their buckets and colour their series. Pure, so the labels can
 * be checked in any locale without a browser.
 */

/**
 * A tick label that reads the same in every locale: the time as hours and minutes, the date as
 * day and month, both for buckets shorter than a day over more than a day. One `toLocaleString`
 * with `hour` alone printed "6 Dec, 23" in en-GB, where 23 reads as a year or a day.
 */
export function timeLabel(iso: string, range: string, locale?: string): string {
  const d = new Date(iso);
  const date = () => d.toLocaleDateString(locale, { month: "short", day: "numeric" });
  const time = () => d.toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit" });
  if (range === "30d") return date();
  if (range === "7d") return `${date()} ${time()}`;
  return time();
}

/**
 * Series colours from Okabe and Ito's and Paul Tol's palettes, picked so that every pair stays
 * apart (CIE ΔE above 20) with normal vision and with protanopia, deuteranopia and tritanopia
 * (chart-format.test.ts): the theme's destructive red and chart-4 were two
 * near-identical reds for "denied" and "withdrawn" (and for high and critical alerts).
 */
export const STEPUP_COLORS = { approved: "#117733", denied: "#882255", expired: "#999999", withdrawn: "#E69F00", pending: "#56B4E9" } as const;
export const SEVERITY_COLORS = { low: "#56B4E9", medium: "#DDCC77", high: "#D55E00", critical: "#332288" } as const;
