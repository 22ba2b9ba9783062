"use client";

import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { ArrowDownWideNarrow, ArrowUpNarrowWide, Radio, ScrollText } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { auditKeys } from "@/lib/api/query-keys";
import { AUDIT_FILTER_KEYS, auditPageOrder, type AuditEventView, type AuditFacets, type AuditFilterParamKey } from "@/lib/schemas/audit";
import type { Page } from "@/lib/schemas/common";
import { DataTable } from "@/components/data-table/data-table";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { LocalTime } from "@/components/ui/local-time";
import { RelativeTime } from "@/components/ui/relative-time";
import { AuditEventDialog } from "@/components/audit/audit-event-dialog";
import { AuditFilters } from "@/components/audit/audit-filters";
import type { DlpDetectorOption } from "@/lib/dlp/policy";
import { AuditExport, AuditVerify } from "@/components/audit/audit-tools";
import { actorLabel, invalidFilters, kindLabel, outcomeVariant, targetLabel } from "@/components/audit/audit-format";

export type AuditListParams = Partial<Record<AuditFilterParamKey | "cursor" | "order", string>>;
const PARAM_KEYS = [...AUDIT_FILTER_KEYS, "cursor", "order"] as const;

/** How often the newest page refreshes itself while the reader is looking at the top of the log. */
const LIVE_INTERVAL_MS = 5000;

/**
 * At 1440 px the table has about 1,100 px: time, kind, actor, target and outcome must fit without
 * scrolling sideways (it was 1,189 px). Long values truncate, the full value in their title, and the
 * relative time ("3 minutes ago", also in the detail dialog) shows only on wide screens.
 */
const columns: ColumnDef<AuditEventView, unknown>[] = [
  {
    id: "time",
    header: "Time",
    cell: ({ row }) => (
      <span className="whitespace-nowrap">
        <LocalTime value={row.original.time} /> <RelativeTime value={row.original.time} className="hidden text-xs text-muted-foreground 2xl:inline" />
      </span>
    ),
  },
  {
    id: "kind",
    header: "Kind",
    meta: { className: "max-w-40 truncate" },
    cell: ({ row }) => <span title={row.original.kind}>{kindLabel(row.original.kind)}</span>,
  },
  {
    id: "actor",
    header: "Actor",
    meta: { className: "max-w-44 truncate" },
    // A service account's name, with its client id on hover (the id the event holds).
    cell: ({ row }) => <span title={row.original.actorName ? `${row.original.actorName} (${row.original.actorId})` : actorLabel(row.original)}>{actorLabel(row.original)}</span>,
  },
  {
    id: "action",
    header: "Action",
    meta: { className: "max-w-36 truncate" },
    cell: ({ row }) => (
      <span className="font-mono text-xs" title={row.original.action}>
        {row.original.action}
      </span>
    ),
  },
  {
    id: "target",
    header: "Target",
    meta: { className: "max-w-56 truncate" },
    cell: ({ row }) => {
      const label = targetLabel(row.original);
      const { targetType, targetId } = row.original;
      // The name is for reading; the id, for searching and linking, stays in the title.
      const title = [targetType, label, targetId && targetId !== label ? `(${targetId})` : null].filter(Boolean).join(" ");
      return (
        <span title={title}>
          {targetType ? <span className="text-muted-foreground">{targetType} </span> : null}
          {label}
        </span>
      );
    },
  },
  {
    id: "outcome",
    header: "Outcome",
    cell: ({ row }) => {
      const dlp = dlpMatches(row.original);
      return (
        <span className="flex items-center gap-1">
          <Badge variant={outcomeVariant(row.original.outcome)}>{row.original.outcome}</Badge>
          {dlp ? (
            <Badge variant="warning" className="max-w-24 truncate" title={`DLP ${dlp}`}>
              DLP {dlp}
            </Badge>
          ) : null}
        </span>
      );
    },
  },
];

/**
 * What the order toggle says. By default pages are in the order the log recorded the events (seq,
 * the chain's order, which keeps them fast at 10M events): events a gateway spooled during an
 * outage and delivered later sit where they were recorded, not at their event time. A custom range
 * (and oldest first within a preset) is read by event time (auditPageOrder).
 */
function orderText(by: "seq" | "time", newestFirst: boolean): { label: string; other: string; title: string; note: string } {
  if (by === "time") {
    return {
      label: newestFirst ? "Newest first" : "Oldest first",
      other: newestFirst ? "oldest first" : "newest first",
      title: "Ordered by event time within this time range.",
      note: "Ordered by event time.",
    };
  }
  return {
    label: newestFirst ? "Newest recorded first" : "Oldest recorded first",
    other: newestFirst ? "oldest recorded first" : "newest recorded first",
    title: "In the order the log recorded the events (the chain's order). Events a gateway delivered late, after an outage, appear where they were recorded, not at their event time.",
    note: "In recorded order: events delivered late appear where they arrived.",
  };
}

function dlpMatches(event: AuditEventView): string | null {
  const data = event.data as { dlp?: Array<{ detector?: unknown }> } | null;
  if (!Array.isArray(data?.dlp) || data.dlp.length === 0) return null;
  return [...new Set(data.dlp.map((d) => String(d.detector)))].join(", ");
}

export function AuditTable({
  initialPage,
  initialParams,
  initialError,
  canVerify = false,
  dlpDetectors,
}: {
  initialPage: Page<AuditEventView>;
  initialParams: AuditListParams;
  initialError?: string;
  /** Shows the chain verification controls (admins and auditors). */
  canVerify?: boolean;
  /** The DLP detectors to filter by: built-ins and the admin's patterns. */
  dlpDetectors: DlpDetectorOption[];
}) {
  const { get, setParam, setParams } = useTableSearchParams();
  const [selected, setSelected] = useState<AuditEventView | null>(null);
  const params: AuditListParams = Object.fromEntries(PARAM_KEYS.map((k) => [k, get(k) ?? undefined]));
  const isInitial = PARAM_KEYS.every((k) => params[k] === initialParams[k]);
  const filters = Object.fromEntries(AUDIT_FILTER_KEYS.map((k) => [k, params[k]]));
  const isNewestFirst = params.order !== "asc";
  const isLive = isNewestFirst && !params.cursor;
  const invalid = invalidFilters(params);
  const order = orderText(auditPageOrder(params), isNewestFirst);

  const query = useQuery({
    queryKey: auditKeys.list(params),
    queryFn: () => api<Page<AuditEventView>>("GET", `/audit-events${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    // A filter the API would refuse: nothing to ask, the page names it instead (no endless skeleton).
    enabled: invalid.length === 0,
    placeholderData: keepPreviousData,
    // Only the top of the newest-first view moves; deeper pages are fixed by their cursor.
    refetchInterval: isLive ? LIVE_INTERVAL_MS : false,
  });
  const facets = useQuery({
    queryKey: auditKeys.list({ ...filters, facets: "1" }),
    queryFn: () => api<AuditFacets>("GET", `/audit-events/facets${toQuery(filters)}`),
    enabled: invalid.length === 0,
    placeholderData: keepPreviousData,
  });

  const error = invalid.length ? undefined : (query.error?.message ?? (isInitial ? initialError : undefined));
  const hasFilter = AUDIT_FILTER_KEYS.some((k) => params[k]);

  return (
    <>
      <AuditFilters facets={facets.data} dlpDetectors={dlpDetectors} />
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <Button variant="outline" size="sm" onClick={() => setParam("order", isNewestFirst ? "asc" : null)} title={order.title} aria-label={`${order.label} (switch to ${order.other})`}>
          {isNewestFirst ? <ArrowDownWideNarrow aria-hidden /> : <ArrowUpNarrowWide aria-hidden />}
          {order.label}
        </Button>
        <span className="text-xs text-muted-foreground" title={order.title}>
          {order.note}
        </span>
        {isLive ? (
          <span className="flex items-center gap-1 text-xs text-muted-foreground" title="The first page refreshes every few seconds">
            <Radio aria-hidden className="size-3.5" /> Live
          </span>
        ) : null}
        <div className="ml-auto flex flex-wrap items-center gap-2">
          <AuditExport filters={filters} />
        </div>
      </div>
      {canVerify ? <AuditVerify /> : null}
      {invalid.length ? (
        <Alert variant="destructive" title={invalid.length === 1 ? "A filter in the address is not valid" : "Some filters in the address are not valid"} className="mb-3">
          <ul className="mb-2 list-disc pl-5">
            {invalid.map((f) => (
              <li key={f.key}>
                {f.label} ({f.key}={f.value}): {f.message}
              </li>
            ))}
          </ul>
          <Button variant="outline" size="sm" onClick={() => setParams(Object.fromEntries(invalid.map((f) => [f.key, null])))}>
            {invalid.length === 1 ? "Clear the invalid filter" : "Clear the invalid filters"}
          </Button>
        </Alert>
      ) : null}
      {error ? (
        <Alert variant="destructive" title="Could not load audit events" className="mb-3">
          {error}
        </Alert>
      ) : null}
      <DataTable
        label="Audit events"
        columns={columns}
        data={query.data?.items ?? []}
        nextCursor={query.data?.nextCursor ?? null}
        isLoading={query.isLoading && invalid.length === 0}
        getRowId={(e) => e.id}
        onRowClick={setSelected}
        emptyState={
          <EmptyState
            icon={<ScrollText />}
            title={invalid.length ? "Nothing shown until the filters are valid" : hasFilter ? "No events match" : "No audit events yet"}
            description={hasFilter ? "Try other filters or reset them." : "Sign-ins, configuration changes and MCP requests are recorded here."}
          />
        }
      />
      {selected ? <AuditEventDialog key={selected.id} event={selected} onOpenChange={(open) => !open && setSelected(null)} /> : null}
    </>
  );
}
