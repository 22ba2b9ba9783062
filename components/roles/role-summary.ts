import type { RoleView } from "@/lib/schemas/role";
import type { TimeWindow } from "@/lib/policy/conditions";

/** ISO weekdays, 1 = Monday … 7 = Sunday. */
export const WEEKDAYS = [
  { day: 1, short: "Mon", long: "Monday" },
  { day: 2, short: "Tue", long: "Tuesday" },
  { day: 3, short: "Wed", long: "Wednesday" },
  { day: 4, short: "Thu", long: "Thursday" },
  { day: 5, short: "Fri", long: "Friday" },
  { day: 6, short: "Sat", long: "Saturday" },
  { day: 7, short: "Sun", long: "Sunday" },
] as const;

export const PRINCIPAL_KIND_LABELS: Record<RoleView["principals"][number]["kind"], string> = {
  group: "Group",
  user: "User",
  service_account: "Service account",
};

const short = (day: number) => WEEKDAYS[day - 1]?.short ?? String(day);

/** [1,2,3,4,5] → "Mon–Fri"; [1,3,5] → "Mon, Wed, Fri"; runs of three or more days become ranges. */
export function formatDays(days: readonly number[]): string {
  const sorted = [...new Set(days)].sort((a, b) => a - b);
  if (sorted.length === 7) return "Every day";
  const parts: string[] = [];
  let start = 0;
  for (let i = 1; i <= sorted.length; i++) {
    if (i < sorted.length && sorted[i] === sorted[i - 1]! + 1) continue;
    const run = sorted.slice(start, i);
    if (run.length >= 3) parts.push(`${short(run[0]!)}–${short(run.at(-1)!)}`);
    else parts.push(...run.map(short));
    start = i;
  }
  return parts.join(", ");
}

export function formatTimeWindow(w: TimeWindow): string {
  return `${formatDays(w.days)} ${w.start}–${w.end} ${w.timeZone}`;
}

export function principalLabel(p: RoleView["principals"][number]): string {
  return `${p.kind === "service_account" ? "service account" : p.kind} ${p.value}`;
}

/** "group finops-analysts + 2" */
export function summarizePrincipals(role: Pick<RoleView, "principals">): string {
  const [first, ...rest] = role.principals;
  if (!first) return "Nobody yet";
  return rest.length ? `${principalLabel(first)} + ${rest.length}` : principalLabel(first);
}

export function grantLabel(g: RoleView["grants"][number]): string {
  const scope = g.toolName ? `${g.serverSlug} / ${g.toolName}` : g.serverSlug ? g.serverSlug : "all servers";
  return `${g.portalSlug}: ${scope} (${g.riskClasses.join(", ")})`;
}

/** "finops: cost-explorer (read) + 1" */
export function summarizeGrants(role: Pick<RoleView, "grants">): string {
  const [first, ...rest] = role.grants;
  if (!first) return "No access";
  return rest.length ? `${grantLabel(first)} + ${rest.length}` : grantLabel(first);
}

/** "Mon–Fri 08:00–19:00 Europe/Paris · MFA · 2 networks" */
export function summarizeConditions(role: Pick<RoleView, "conditions">): string {
  const c = role.conditions;
  const parts: string[] = [];
  const [firstWindow, ...otherWindows] = c.timeWindows;
  if (firstWindow) parts.push(formatTimeWindow(firstWindow) + (otherWindows.length ? ` + ${otherWindows.length}` : ""));
  if (c.mfaRequired) parts.push("MFA");
  if (c.networks.length) parts.push(c.networks.length === 1 ? c.networks[0]! : `${c.networks.length} networks`);
  if (c.maxLookbackDays !== null) parts.push(`look-back ≤ ${c.maxLookbackDays} days`);
  return parts.length ? parts.join(" · ") : "None";
}
