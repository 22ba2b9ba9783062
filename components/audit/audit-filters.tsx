"use client";

import { SlidersHorizontal, X } from "lucide-react";

import { AUDIT_FILTER_KEYS, AUDIT_RANGES, type AuditFacets, type AuditFilterParamKey } from "@/lib/schemas/audit";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select, type SelectOption } from "@/components/ui/select";
import { useDebouncedParam } from "@/components/data-table/use-debounced-param";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { useHydrated } from "@/components/ui/local-time";
import type { DlpDetectorOption } from "@/lib/dlp/policy";
import { AUDIT_KINDS, AUDIT_OUTCOMES, kindLabel } from "@/components/audit/audit-format";

type AuditFilterKey = AuditFilterParamKey;

const RANGE_LABELS: Record<(typeof AUDIT_RANGES)[number], string> = {
  "1h": "Last hour",
  "6h": "Last 6 hours",
  "24h": "Last 24 hours",
  "7d": "Last 7 days",
  "30d": "Last 30 days",
  custom: "Custom range",
};
const RANGES: SelectOption[] = AUDIT_RANGES.map((value) => ({ value, label: RANGE_LABELS[value] }));

const UPSTREAM_OUTCOMES: SelectOption[] = ["success", "partial", "error", "failed", "timeout", "cancelled", "not_called", "none"].map((v) => ({ value: v, label: v }));
/**
 * The detector's id (what the table and the events show), with the admin's name for a pattern; a
 * picked id no longer configured (a deleted pattern) stays listed, as the URL still filters by it.
 */
function dlpOptions(detectors: DlpDetectorOption[], current: string | null): SelectOption[] {
  const options = detectors.map((d) => ({ value: d.id, label: d.isBuiltIn ? d.id : `${d.id} (${d.label})` }));
  return current && !options.some((o) => o.value === current) ? [...options, { value: current, label: current }] : options;
}

/** An ISO instant as a `datetime-local` value in the viewer's time zone, and back. */
function toLocalInput(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
const fromLocalInput = (value: string) => (value ? new Date(value).toISOString() : null);

/** The Kind filter: every kind, grouped (Access, Step-up, Alerts…), each with its facet count. */
function KindSelect({ counts, value, onChange }: { counts: Array<{ value: string; count: number }> | undefined; value: string | null; onChange: (value: string | null) => void }) {
  const options = facetOptions(AUDIT_KINDS, counts, value, kindLabel);
  const groupOf = (v: string) => AUDIT_KINDS.find((k) => k.value === v)?.group ?? "Other";
  const groups = [...new Set(options.map((o) => groupOf(o.value)))];
  return (
    <div className="grid gap-1">
      <Label htmlFor="audit-filter-kind" className="text-xs text-muted-foreground">
        Kind
      </Label>
      <Select id="audit-filter-kind" aria-label="Kind" className="sm:min-w-36" value={value ?? ""} onChange={(e) => onChange(e.target.value || null)} placeholder="All kinds">
        {groups.map((group) => (
          <optgroup key={group} label={group}>
            {options
              .filter((o) => groupOf(o.value) === group)
              .map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
          </optgroup>
        ))}
      </Select>
    </div>
  );
}

/** A select whose options carry their facet count, e.g. "Deny (12)"; a picked value always stays listed. */
function facetOptions(base: readonly SelectOption[], counts: Array<{ value: string; count: number }> | undefined, current: string | null, label = (v: string) => v): SelectOption[] {
  const byValue = new Map((counts ?? []).map((c) => [c.value, c.count]));
  // The listed values, then any other the log holds (a kind this list does not know yet).
  const values = [...base.map((o) => o.value), ...[...byValue.keys()].filter((v) => !base.some((o) => o.value === v))];
  if (current && !values.includes(current)) values.push(current);
  return values.map((value) => {
    const known = base.find((o) => o.value === value)?.label ?? label(value);
    const count = byValue.get(value);
    return { value, label: counts ? `${known} (${count ?? 0})` : known };
  });
}

function TextFilter({ param, label, placeholder, className }: { param: AuditFilterKey; label: string; placeholder?: string; className?: string }) {
  const box = useDebouncedParam(useTableSearchParams(), param, 400);
  return (
    <div className={className ?? "grid gap-1"}>
      <Label htmlFor={`audit-filter-${param}`} className="text-xs text-muted-foreground">
        {label}
      </Label>
      <Input id={`audit-filter-${param}`} type="search" value={box.value} placeholder={placeholder} onChange={(e) => box.onChange(e.target.value)} />
    </div>
  );
}

export function AuditFilters({ facets, dlpDetectors }: { facets: AuditFacets | undefined; dlpDetectors: DlpDetectorOption[] }) {
  const { get, setParam, setParams } = useTableSearchParams();
  const active = AUDIT_FILTER_KEYS.filter((k) => get(k) !== null);
  const hydrated = useHydrated();
  // A link with from/to and no preset (an alert's "Events") is a custom range: say so, with its dates.
  const range = get("range") ?? (get("from") || get("to") ? "custom" : null);
  // A value the API refuses (a hand-edited link) stays visible in the control, marked, so it can be seen.
  const rangeOptions = range && !RANGES.some((o) => o.value === range) ? [...RANGES, { value: range, label: `${range} (not valid)` }] : RANGES;
  const moreKeys: AuditFilterKey[] = ["server", "actorType", "rule", "grant", "ip", "upstream", "dlp", "session", "requestId"];
  const hasMore = moreKeys.some((k) => get(k) !== null);

  const select = (key: AuditFilterKey, label: string, options: SelectOption[], allLabel: string) => (
    <div className="grid gap-1">
      <Label htmlFor={`audit-filter-${key}`} className="text-xs text-muted-foreground">
        {label}
      </Label>
      <Select id={`audit-filter-${key}`} aria-label={label} className="sm:min-w-36" value={get(key) ?? ""} onChange={(e) => setParam(key, e.target.value || null)} placeholder={allLabel} options={options} />
    </div>
  );

  return (
    <div role="search" aria-label="Audit filters" className="mb-3 grid gap-3 rounded-lg border bg-card p-3">
      <div className="flex flex-wrap items-end gap-2">
        <div className="grid gap-1">
          <Label htmlFor="audit-filter-range" className="text-xs text-muted-foreground">
            Time range
          </Label>
          <Select
            id="audit-filter-range"
            aria-label="Time range"
            className="sm:min-w-36"
            value={range ?? ""}
            placeholder="All time"
            options={rangeOptions}
            onChange={(e) => {
              const value = e.target.value || null;
              setParams(value === "custom" ? { range: value } : { range: value, from: null, to: null });
            }}
          />
        </div>
        {range === "custom" ? (
          <>
            <div className="grid gap-1">
              <Label htmlFor="audit-filter-from" className="text-xs text-muted-foreground">
                From (your time zone)
              </Label>
              <Input id="audit-filter-from" type="datetime-local" value={hydrated ? toLocalInput(get("from")) : ""} onChange={(e) => setParam("from", fromLocalInput(e.target.value))} />
            </div>
            <div className="grid gap-1">
              <Label htmlFor="audit-filter-to" className="text-xs text-muted-foreground">
                To
              </Label>
              <Input id="audit-filter-to" type="datetime-local" value={hydrated ? toLocalInput(get("to")) : ""} onChange={(e) => setParam("to", fromLocalInput(e.target.value))} />
            </div>
          </>
        ) : null}
        <KindSelect counts={facets?.kind} value={get("kind")} onChange={(value) => setParam("kind", value)} />
        {select("outcome", "Decision", facetOptions(AUDIT_OUTCOMES, facets?.outcome, get("outcome")), "Any outcome")}
        {select("portal", "Portal", facetOptions([], facets?.portal, get("portal")), "All portals")}
        {select("tool", "Tool", facetOptions([], facets?.tool, get("tool")), "All tools")}
        <TextFilter param="actor" label="Actor" placeholder="Email, client id…" />
        <TextFilter param="q" label="Search" placeholder="Action, reason, target…" />
        {active.length ? (
          <Button variant="ghost" onClick={() => setParams(Object.fromEntries(active.map((k) => [k, null])))}>
            <X aria-hidden />
            Reset
          </Button>
        ) : null}
      </div>
      {facets?.window ? (
        // Counted over a window at scale (lib/server/audit-events.ts): say so rather than pass them off as totals.
        <p className="text-xs text-muted-foreground">The counts beside the filters cover the newest {facets.window.toLocaleString("en")} matching events, not all of them.</p>
      ) : null}
      {facets?.searched ? (
        <p className="text-xs text-muted-foreground">
          With a search, the counts beside the filters cover the matches among the newest {facets.searched.toLocaleString("en")} events only, not all of them.
        </p>
      ) : null}
      <details open={hasMore || undefined}>
        <summary className="flex cursor-pointer items-center gap-1.5 text-sm text-muted-foreground select-none">
          <SlidersHorizontal aria-hidden className="size-4" />
          More filters
        </summary>
        <div className="mt-2 flex flex-wrap items-end gap-2">
          <TextFilter param="server" label="Server" placeholder="Server slug" />
          {select(
            "actorType",
            "Actor type",
            ["user", "service_account", "api_token", "system", "anonymous"].map((v) => ({ value: v, label: v })),
            "Any actor type",
          )}
          <TextFilter param="rule" label="Deny rule or reason" placeholder="e.g. outside allowed hours" />
          <TextFilter param="grant" label="Step-up grant" placeholder="Grant id" />
          <TextFilter param="ip" label="Source IP or CIDR" placeholder="10.0.0.0/8" />
          {select("upstream", "Upstream outcome", UPSTREAM_OUTCOMES, "Any upstream outcome")}
          {select("dlp", "DLP detector", dlpOptions(dlpDetectors, get("dlp")), "Any DLP match")}
          <TextFilter param="session" label="Session" placeholder="Session id" />
          <TextFilter param="requestId" label="Request id" placeholder="Request id" />
        </div>
      </details>
    </div>
  );
}
