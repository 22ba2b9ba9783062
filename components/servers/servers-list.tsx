"use client";

import { useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { Plus, Server, TriangleAlert } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { serverKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { ServerView } from "@/lib/schemas/server";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { RelativeTime } from "@/components/ui/relative-time";
import { RetryAlert } from "@/components/ui/retry-alert";
import { DataTable } from "@/components/data-table/data-table";
import { DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { ServerFormDialog } from "@/components/servers/server-form-dialog";
import { ServerStatusBadge } from "@/components/servers/server-status-badge";
import { STATUS_OPTIONS, TRANSPORT_LABELS, serverListParams, type ServerListParams } from "@/components/servers/format";

const columns: ColumnDef<ServerView, unknown>[] = [
  {
    id: "name",
    header: "Name",
    cell: ({ row }) => (
      <div className="flex min-w-0 flex-col">
        <Link href={`/servers/${row.original.id}`} className="font-medium hover:underline focus-visible:underline focus-visible:outline-none">
          {row.original.name}
        </Link>
        <span className="font-mono text-xs text-muted-foreground">{row.original.slug}</span>
      </div>
    ),
  },
  {
    id: "url",
    header: "URL",
    cell: ({ row }) => (
      <span className="block max-w-[22rem] truncate font-mono text-xs text-muted-foreground" title={row.original.url}>
        {row.original.url}
      </span>
    ),
  },
  { id: "transport", header: "Transport", cell: ({ row }) => <span className="text-muted-foreground">{TRANSPORT_LABELS[row.original.transport]}</span> },
  { id: "status", header: "Status", cell: ({ row }) => <ServerStatusBadge status={row.original.status} /> },
  {
    id: "tools",
    header: "Tools",
    cell: ({ row }) => (
      <div className="flex items-center gap-2">
        <span className="tabular-nums">{row.original.toolCount}</span>
        {row.original.changedToolCount > 0 ? (
          <Badge variant="warning" title="Tools changed upstream and wait for an admin's review">
            <TriangleAlert aria-hidden />
            {row.original.changedToolCount} changed
          </Badge>
        ) : null}
      </div>
    ),
  },
  {
    id: "lastSyncedAt",
    header: "Last synced",
    cell: ({ row }) => <RelativeTime value={row.original.lastSyncedAt} fallback="Never" className="text-muted-foreground" />,
  },
];

const sameParams = (a: ServerListParams, b: ServerListParams) => a.q === b.q && a.status === b.status && a.cursor === b.cursor && a.limit === b.limit;

type ServersListProps = {
  initialPage: Page<ServerView>;
  /** The params the server rendered `initialPage` for; the query only seeds its cache for these. */
  initialParams: ServerListParams;
  canWrite: boolean;
};

export function ServersList({ initialPage, initialParams, canWrite }: ServersListProps) {
  const router = useRouter();
  const { query } = useTableSearchParams();
  const params = serverListParams(query);
  const [isAddOpen, setIsAddOpen] = useState(false);
  const [addKey, setAddKey] = useState(0);

  const servers = useQuery({
    queryKey: serverKeys.list(params),
    queryFn: () => api<Page<ServerView>>("GET", `/servers${toQuery(params)}`),
    initialData: sameParams(params, initialParams) ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const isFiltered = Boolean(params.q || params.status || params.cursor);
  const page = servers.data;
  // The empty state carries its own "Add server": one such button on the page, never two.
  const isEmptyRegistry = !isFiltered && page !== undefined && page.items.length === 0;

  const openAdd = () => {
    setAddKey((key) => key + 1);
    setIsAddOpen(true);
  };

  const addButton = (
    <Button onClick={openAdd}>
      <Plus aria-hidden />
      Add server
    </Button>
  );

  return (
    <>
      <PageHeader
        title="Servers"
        description="Upstream MCP servers that portals route to. Tools are pinned by their definition and quarantined when they change upstream."
        actions={canWrite && !isEmptyRegistry ? addButton : undefined}
      />

      <DataTableToolbar
        searchPlaceholder="Search servers…"
        filters={[{ key: "status", label: "Status", allLabel: "All statuses", options: STATUS_OPTIONS }]}
      />

      {servers.isError ? (
        <RetryAlert title="Could not load servers" className="mb-3" onRetry={() => void servers.refetch()}>
          {servers.error.message}
        </RetryAlert>
      ) : null}

      <DataTable
        label="MCP servers"
        columns={columns}
        data={page?.items ?? []}
        nextCursor={page?.nextCursor ?? null}
        isLoading={servers.isPending || (servers.isFetching && servers.isPlaceholderData)}
        getRowId={(server) => server.id}
        onRowClick={(server) => router.push(`/servers/${server.id}`)}
        skeletonRows={5}
        emptyState={
          isFiltered ? (
            <EmptyState icon={<Server />} title="No servers match" description="Try another search or reset the filters." className="border-0" />
          ) : (
            <EmptyState
              icon={<Server />}
              title="No servers yet"
              description={
                canWrite
                  ? "Add the MCP servers your teams use; Portico then discovers their tools, and portals decide who may call which."
                  : "An admin has not added any MCP servers yet."
              }
              action={canWrite ? addButton : undefined}
              className="border-0"
            />
          )
        }
      />

      {canWrite ? <ServerFormDialog key={addKey} open={isAddOpen} onOpenChange={setIsAddOpen} /> : null}
    </>
  );
}
