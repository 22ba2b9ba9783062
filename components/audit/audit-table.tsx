"use client";

import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { ScrollText, UserSearch } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { auditKeys } from "@/lib/api/query-keys";
import type { AuditEventView } from "@/lib/schemas/audit";
import type { Page } from "@/lib/schemas/common";
import { DataTable } from "@/components/data-table/data-table";
import { DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useDebouncedParam } from "@/components/data-table/use-debounced-param";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { EmptyState } from "@/components/ui/empty-state";
import { Input } from "@/components/ui/input";
import { RelativeTime } from "@/components/ui/relative-time";
import { AuditEventDialog } from "@/components/audit/audit-event-dialog";
import { actorLabel, AUDIT_KINDS, AUDIT_OUTCOMES, kindLabel, outcomeVariant, targetLabel } from "@/components/audit/audit-format";

export type AuditListParams = { cursor?: string; kind?: string; outcome?: string; actor?: string; q?: string };
const PARAM_KEYS = ["cursor", "kind", "outcome", "actor", "q"] as const;

const columns: ColumnDef<AuditEventView, unknown>[] = [
  { id: "time", header: "Time", cell: ({ row }) => <RelativeTime value={row.original.time} className="text-muted-foreground" /> },
  { id: "kind", header: "Kind", cell: ({ row }) => kindLabel(row.original.kind) },
  {
    id: "actor",
    header: "Actor",
    meta: { className: "max-w-64 truncate" },
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
    cell: ({ row }) => <Badge variant={outcomeVariant(row.original.outcome)}>{row.original.outcome}</Badge>,
  },
];

/** The actor filter: a second search box, debounced like the toolbar's. */
function ActorFilter() {
  const actor = useDebouncedParam(useTableSearchParams(), "actor");

  return (
    <div className="relative w-full sm:w-56">
      <UserSearch aria-hidden className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground" />
      <Input
        type="search"
        aria-label="Actor"
        placeholder="Actor (email)…"
        value={actor.value}
        className="pl-8"
        onChange={(e) => actor.onChange(e.target.value)}
      />
    </div>
  );
}

export function AuditTable({
  initialPage,
  initialParams,
  initialError,
}: {
  initialPage: Page<AuditEventView>;
  initialParams: AuditListParams;
  initialError?: string;
}) {
  const { get } = useTableSearchParams();
  const [selected, setSelected] = useState<AuditEventView | null>(null);
  const params: AuditListParams = Object.fromEntries(PARAM_KEYS.map((k) => [k, get(k) ?? undefined]));
  const isInitial = PARAM_KEYS.every((k) => params[k] === initialParams[k]);

  const query = useQuery({
    queryKey: auditKeys.list(params),
    queryFn: () => api<Page<AuditEventView>>("GET", `/audit-events${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const error = query.error?.message ?? (isInitial ? initialError : undefined);
  const hasFilter = Boolean(params.kind || params.outcome || params.actor || params.q);

  return (
    <>
      <DataTableToolbar
        searchPlaceholder="Search action, tool or target id…"
        filters={[
          { key: "kind", label: "Kind", options: AUDIT_KINDS, allLabel: "All kinds" },
          { key: "outcome", label: "Outcome", options: AUDIT_OUTCOMES, allLabel: "Any outcome" },
        ]}
      >
        <ActorFilter />
      </DataTableToolbar>
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
