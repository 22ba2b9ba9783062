"use client";

import { useState } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { Cable } from "lucide-react";
import { toast } from "sonner";

import { api, toQuery } from "@/lib/api/client";
import { connectedClientKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { ConnectedClientView } from "@/lib/schemas/oauth-client";
import { DataTable } from "@/components/data-table/data-table";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { Label } from "@/components/ui/label";
import { RelativeTime } from "@/components/ui/relative-time";
import { Switch } from "@/components/ui/switch";

export type ConnectedClientListParams = { all?: "true"; cursor?: string };

const isUrl = (id: string) => id.startsWith("https://");

export function ConnectedClientsTable({
  initialPage,
  initialParams,
  initialError,
  canSeeAll,
}: {
  initialPage: Page<ConnectedClientView>;
  initialParams: ConnectedClientListParams;
  initialError?: string;
  canSeeAll: boolean;
}) {
  const queryClient = useQueryClient();
  const { get, setParam } = useTableSearchParams();
  const [revoking, setRevoking] = useState<ConnectedClientView | null>(null);
  const params: ConnectedClientListParams = { all: get("all") === "true" ? "true" : undefined, cursor: get("cursor") ?? undefined };
  const isInitial = params.all === initialParams.all && params.cursor === initialParams.cursor;
  const showAll = params.all === "true";

  const query = useQuery({
    queryKey: connectedClientKeys.list(params),
    queryFn: () => api<Page<ConnectedClientView>>("GET", `/connected-clients${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const columns: ColumnDef<ConnectedClientView, unknown>[] = [
    {
      id: "client",
      header: "Client",
      cell: ({ row }) => (
        <div className="grid">
          <span className="font-medium">{row.original.clientName}</span>
          <span className="truncate font-mono text-xs text-muted-foreground" title={row.original.clientId}>
            {isUrl(row.original.clientId) ? row.original.clientId : `id ${row.original.clientId}`}
          </span>
        </div>
      ),
    },
    ...(showAll ? [{ id: "user", header: "Person", cell: ({ row }) => row.original.user.email } satisfies ColumnDef<ConnectedClientView, unknown>] : []),
    { id: "portal", header: "Portal", cell: ({ row }) => <Badge variant="secondary">{row.original.portal ?? row.original.resource}</Badge> },
    { id: "connected", header: "Connected", cell: ({ row }) => <RelativeTime value={row.original.createdAt} className="text-muted-foreground" /> },
    {
      id: "lastUsed",
      header: "Last use",
      cell: ({ row }) => <RelativeTime value={row.original.lastUsedAt} fallback="Never" className="text-muted-foreground" />,
    },
    {
      id: "actions",
      header: () => <span className="sr-only">Actions</span>,
      meta: { className: "w-0 text-right" },
      cell: ({ row }) => (
        <Button variant="outline" size="sm" className="text-destructive-strong" onClick={() => setRevoking(row.original)}>
          Disconnect
        </Button>
      ),
    },
  ];

  const error = query.error?.message ?? (isInitial ? initialError : undefined);

  return (
    <>
      {canSeeAll ? (
        <div className="mb-3 flex items-center gap-2">
          <Switch id="connected-all-users" checked={showAll} onCheckedChange={(checked) => setParam("all", checked ? "true" : null)} />
          <Label htmlFor="connected-all-users">Everyone&apos;s</Label>
        </div>
      ) : null}
      {error ? (
        <Alert variant="destructive" title="Could not load connected clients" className="mb-3">
          {error}
        </Alert>
      ) : null}
      <DataTable
        label="Connected clients"
        columns={columns}
        data={query.data?.items ?? []}
        nextCursor={query.data?.nextCursor ?? null}
        isLoading={query.isLoading}
        getRowId={(c) => c.id}
        emptyState={
          <EmptyState
            icon={<Cable />}
            title={showAll ? "Nobody has connected an MCP client yet" : "You have not connected an MCP client yet"}
            description="Add a portal URL to Claude Code, VS Code or the MCP Inspector; the first time it connects, you sign in and approve it, and it shows up here."
          />
        }
      />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={revoking ? `Disconnect ${revoking.clientName}?` : "Disconnect?"}
        description="Its refresh tokens stop working at once; the access token it holds runs out within minutes. To use it again, sign in and approve it again."
        confirmLabel="Disconnect"
        onConfirm={async () => {
          if (!revoking) return;
          await api("DELETE", `/connected-clients/${revoking.id}`);
          toast.success(`${revoking.clientName} disconnected`);
          await queryClient.invalidateQueries({ queryKey: connectedClientKeys.all });
        }}
      >
        {revoking ? (
          <p className="text-sm">
            From portal {revoking.portal ?? revoking.resource}
            {showAll ? <>, for {revoking.user.email}</> : null}
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
