"use client";

import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { ArrowDownWideNarrow, ArrowUpNarrowWide, Radio, ScrollText } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { auditKeys } from "@/lib/api/query-keys";
import { formatDateTime } from "@/lib/format";
import { AUDIT_FILTER_KEYS, type AuditEventView, type AuditFacets, type AuditFilterParamKey } from "@/lib/schemas/audit";
import type { Page } from "@/lib/schemas/common";
import { DataTable } from "@/components/data-table/data-table";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { RelativeTime } from "@/components/ui/relative-time";
import { AuditEventDialog } from "@/components/audit/audit-event-dialog";
import { AuditFilters } from "@/components/audit/audit-filters";
import { AuditExport, AuditVerify } from "@/components/audit/audit-tools";
import { actorLabel, kindLabel, outcomeVariant, targetLabel } from "@/components/audit/audit-format";

export type AuditListParams = Partial<Record<AuditFilterParamKey | "cursor" | "order", string>>;
const PARAM_KEYS = [...AUDIT_FILTER_KEYS, "cursor", "order"] as const;

/** How often the newest page refreshes itself while the reader is looking at the top of the log. */
const LIVE_INTERVAL_MS = 5000;

const columns: ColumnDef<AuditEventView, unknown>[] = [
  {
    id: "time",
    header: "Time",
    cell: ({ row }) => (
      <span className="whitespace-nowrap">
        <span>{formatDateTime(row.original.time)}</span> <RelativeTime value={row.original.time} className="text-xs text-muted-foreground" />
      </span>
    ),
  },
  { id: "kind", header: "Kind", cell: ({ row }) => kindLabel(row.original.kind) },
  {
    id: "actor",
    header: "Actor",
    meta: { className: "max-w-56 truncate" },
    cell: ({ row }) => <span title={actorLabel(row.original)}>{actorLabel(row.original)}</span>,
  },
  { id: "action", header: "Action", cell: ({ row }) => <span className="font-mono text-xs">{row.original.action}</span> },
  {
    id: "target",
    header: "Target",
    meta: { className: "max-w-72 truncate" },
    cell: ({ row }) => {
      const label = targetLabel(row.original);
      return (
        <span title={label}>
          {row.original.targetType ? <span className="text-muted-foreground">{row.original.targetType} </span> : null}
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
          {dlp ? <Badge variant="warning">DLP {dlp}</Badge> : null}
        </span>
      );
    },
  },
];

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
}: {
  initialPage: Page<AuditEventView>;
  initialParams: AuditListParams;
  initialError?: string;
  /** Shows the chain verification controls (admins and auditors). */
  canVerify?: boolean;
}) {
  const { get, setParam } = useTableSearchParams();
  const [selected, setSelected] = useState<AuditEventView | null>(null);
  const params: AuditListParams = Object.fromEntries(PARAM_KEYS.map((k) => [k, get(k) ?? undefined]));
  const isInitial = PARAM_KEYS.every((k) => params[k] === initialParams[k]);
  const filters = Object.fromEntries(AUDIT_FILTER_KEYS.map((k) => [k, params[k]]));
  const isNewestFirst = params.order !== "asc";
  const isLive = isNewestFirst && !params.cursor;

  const query = useQuery({
    queryKey: auditKeys.list(params),
    queryFn: () => api<Page<AuditEventView>>("GET", `/audit-events${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    placeholderData: keepPreviousData,
    // Only the top of the newest-first view moves; deeper pages are fixed by their cursor.
    refetchInterval: isLive ? LIVE_INTERVAL_MS : false,
  });
  const facets = useQuery({
    queryKey: auditKeys.list({ ...filters, facets: "1" }),
    queryFn: () => api<AuditFacets>("GET", `/audit-events/facets${toQuery(filters)}`),
    placeholderData: keepPreviousData,
  });

  const error = query.error?.message ?? (isInitial ? initialError : undefined);
  const hasFilter = AUDIT_FILTER_KEYS.some((k) => params[k]);

  return (
    <>
      <AuditFilters facets={facets.data} />
      <div className="mb-3 flex flex-wrap items-center gap-2">
        <Button variant="outline" size="sm" onClick={() => setParam("order", isNewestFirst ? "asc" : null)} aria-label={isNewestFirst ? "Newest first (switch to oldest first)" : "Oldest first (switch to newest first)"}>
          {isNewestFirst ? <ArrowDownWideNarrow aria-hidden /> : <ArrowUpNarrowWide aria-hidden />}
          {isNewestFirst ? "Newest first" : "Oldest first"}
        </Button>
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
        isLoading={query.isLoading}
        getRowId={(e) => e.id}
        onRowClick={setSelected}
        emptyState={
          <EmptyState
            icon={<ScrollText />}
            title={hasFilter ? "No events match" : "No audit events yet"}
            description={hasFilter ? "Try other filters or reset them." : "Sign-ins, configuration changes and MCP requests are recorded here."}
          />
        }
      />
      {selected ? <AuditEventDialog key={selected.id} event={selected} onOpenChange={(open) => !open && setSelected(null)} /> : null}
    </>
  );
}
