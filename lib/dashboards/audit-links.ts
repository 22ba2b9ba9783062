/**
 * Links from the overview's charts into the audit explorer that open the rows a figure counted:
 * the chart's own window, its portal, and the figure's exact filter (tool, actor, rule…).
 *
 * The window is passed as the explorer's custom range (`from`/`to`), never as a preset: the
 * overview counts from rollups whose window starts on a whole step (a minute for "last hour", an
 * hour for "last 24 hours"), where the explorer's "Last hour" counts back from the moment it is
 * opened, so a preset would open a few more or fewer rows than the card says, and the explorer has
 * no 6-hour preset at all. The exact window makes the count on the card and the rows agree.
 */

const HOUR = 3_600_000;

/** The window a set of overview figures was counted over. */
export type OverviewWindow = { from: string; to: string; portal?: string };

/** A figure's own filter, in the explorer's URL parameter names (lib/schemas/audit.ts). */
export type AuditLinkFilter = {
  kind?: string;
  server?: string;
  tool?: string;
  actor?: string;
  outcome?: "allow" | "deny" | "success" | "failure";
  rule?: string;
  q?: string;
};

export function overviewAuditHref(window: OverviewWindow, filter: AuditLinkFilter): string {
  const search = new URLSearchParams({ range: "custom", from: window.from, to: window.to });
  if (window.portal) search.set("portal", window.portal);
  for (const [key, value] of Object.entries(filter)) if (value) search.set(key, value);
  return `/audit?${search.toString()}`;
}

/**
 * The window of the denials chart: its rollup keeps refused calls per hour, and the chart reads
 * the whole hour the overview's window starts in, so its link must start there too.
 */
export function denialWindow(window: OverviewWindow): OverviewWindow {
  const from = new Date(Math.floor(new Date(window.from).getTime() / HOUR) * HOUR).toISOString();
  return { ...window, from };
}
