"use client";

import { useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { DoorOpen, Plus } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { PortalView } from "@/lib/schemas/portal";
import { Button } from "@/components/ui/button";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { RetryAlert } from "@/components/ui/retry-alert";
import { DataTable } from "@/components/data-table/data-table";
import { DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { AllowlistBadge } from "@/components/portals/portal-badges";
import { PortalFormDialog } from "@/components/portals/portal-form-dialog";

type PortalListProps = {
  initialPage: Page<PortalView>;
  /** The params the server rendered `initialPage` for; the cache is seeded only while the URL still matches. */
  initialParams: { q?: string; cursor?: string };
  canWrite: boolean;
  urlPrefix: string;
};

const columns: ColumnDef<PortalView>[] = [
  {
    id: "name",
    header: "Name",
    cell: ({ row }) => (
      <div className="flex max-w-xs min-w-0 flex-col gap-0.5">
        <Link
          href={`/portals/${row.original.id}`}
          className="truncate font-medium text-foreground underline-offset-4 outline-none hover:underline focus-visible:underline"
        >
          {row.original.name}
        </Link>
        {row.original.description ? <span className="truncate text-xs text-muted-foreground">{row.original.description}</span> : null}
      </div>
    ),
  },
  {
    id: "slug",
    header: "Slug",
    cell: ({ row }) => <span className="font-mono text-[0.8125rem]">{row.original.slug}</span>,
  },
  {
    id: "url",
    header: "URL",
    cell: ({ row }) => (
      <div className="flex max-w-sm items-center gap-1">
        <code className="truncate rounded bg-muted px-1.5 py-0.5 font-mono text-xs" title={row.original.url}>
          {row.original.url}
        </code>
        <CopyButton value={row.original.url} aria-label={`Copy URL of ${row.original.name}`} />
      </div>
    ),
  },
  {
    id: "servers",
    header: "Servers",
    meta: { className: "text-right" },
    cell: ({ row }) => {
      const total = row.original.servers.length;
      const on = row.original.servers.filter((s) => s.enabled).length;
      return (
        <span className="tabular-nums" title={on === total ? undefined : `${on} of ${total} switched on`}>
          {total}
          {on !== total ? <span className="text-muted-foreground"> ({on} on)</span> : null}
        </span>
      );
    },
  },
  {
    id: "mode",
    header: "Mode",
    cell: ({ row }) => <AllowlistBadge isOn={row.original.allowlistMode} />,
  },
];

/** The portals as a table, searchable and paged through the URL. */
export function PortalList({ initialPage, initialParams, canWrite, urlPrefix }: PortalListProps) {
  const router = useRouter();
  const { get } = useTableSearchParams();
  const [isCreateOpen, setIsCreateOpen] = useState(false);

  const params = { q: get("q") ?? undefined, cursor: get("cursor") ?? undefined };
  const isInitial = params.q === initialParams.q && params.cursor === initialParams.cursor;
  const query = useQuery({
    queryKey: portalKeys.list(params),
    queryFn: () => api<Page<PortalView>>("GET", `/portals${toQuery(params)}`),
    initialData: isInitial ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const items = query.data?.items ?? [];
  const isEmptyRegistry = !params.q && !params.cursor && query.isSuccess && items.length === 0;
  // On an empty registry the empty state carries the one "Create portal" button.
  const showHeaderCreate = canWrite && !isEmptyRegistry;

  return (
    <>
      <PageHeader
        title="Portals"
        description="Each portal is one MCP address at the gateway over a set of servers, with the tools you choose to offer."
        actions={
          showHeaderCreate ? (
            <Button onClick={() => setIsCreateOpen(true)}>
              <Plus aria-hidden />
              Create portal
            </Button>
          ) : null
        }
      />

      {query.isError ? (
        <RetryAlert title="Could not load the portals" className="mb-4" onRetry={() => void query.refetch()}>
          {query.error.message}
        </RetryAlert>
      ) : null}

      {isEmptyRegistry ? (
        <EmptyState
          icon={<DoorOpen />}
          title="No portals yet"
          description={
            canWrite
              ? "Create a portal to give people one MCP address for a set of servers."
              : "An admin has not created any portal yet."
          }
          action={
            canWrite ? (
              <Button onClick={() => setIsCreateOpen(true)}>
                <Plus aria-hidden />
                Create portal
              </Button>
            ) : null
          }
        />
      ) : (
        <>
          <DataTableToolbar searchPlaceholder="Search portals…" />
          <DataTable
            label="Portals"
            columns={columns}
            data={items}
            nextCursor={query.data?.nextCursor ?? null}
            isLoading={query.isPending || (query.isFetching && query.isPlaceholderData)}
            getRowId={(portal) => portal.id}
            onRowClick={(portal) => router.push(`/portals/${portal.id}`)}
            skeletonRows={4}
            emptyState={
              <p className="text-center text-sm text-muted-foreground">
                {params.q ? `No portal matches “${params.q}”.` : "No portals on this page."}
              </p>
            }
          />
        </>
      )}

      {canWrite ? <PortalFormDialog mode="create" open={isCreateOpen} onOpenChange={setIsCreateOpen} urlPrefix={urlPrefix} /> : null}
    </>
  );
}
