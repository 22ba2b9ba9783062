"use client";

import { useState } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { KeyRound, Plus } from "lucide-react";
import { toast } from "sonner";

import { api, toQuery } from "@/lib/api/client";
import { tokenKeys } from "@/lib/api/query-keys";
import type { DashboardRole } from "@/lib/auth/permissions";
import type { Page } from "@/lib/schemas/common";
import type { TokenView } from "@/lib/schemas/token";
import { DataTable } from "@/components/data-table/data-table";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { RelativeTime, useNow } from "@/components/ui/relative-time";
import { CreateTokenDialog } from "@/components/tokens/create-token-dialog";

export type TokenListParams = { all?: "true"; cursor?: string };

type Status = "active" | "expired" | "revoked";

function tokenStatus(token: TokenView, now: number): Status {
  if (token.revokedAt) return "revoked";
  if (new Date(token.expiresAt).getTime() <= now) return "expired";
  return "active";
}

const STATUS_BADGE: Record<Status, React.ReactNode> = {
  active: <Badge variant="success">Active</Badge>,
  expired: <Badge variant="secondary">Expired</Badge>,
  revoked: <Badge variant="destructive">Revoked</Badge>,
};

export function TokensTable({
  initialPage,
  initialParams,
  initialError,
  canSeeAll,
  canWriteScope,
  role,
  currentUserId,
}: {
  initialPage: Page<TokenView>;
  initialParams: TokenListParams;
  initialError?: string;
  canSeeAll: boolean;
  canWriteScope: boolean;
  role: DashboardRole;
  currentUserId: string;
}) {
  const queryClient = useQueryClient();
  const now = useNow();
  const { get, setParam } = useTableSearchParams();
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [revoking, setRevoking] = useState<TokenView | null>(null);
  const params: TokenListParams = { all: get("all") === "true" ? "true" : undefined, cursor: get("cursor") ?? undefined };
  const isInitial = params.all === initialParams.all && params.cursor === initialParams.cursor;
  const showAll = params.all === "true";

  const query = useQuery({
    queryKey: tokenKeys.list(params),
    queryFn: () => api<Page<TokenView>>("GET", `/tokens${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const columns: ColumnDef<TokenView, unknown>[] = [
    { id: "name", header: "Name", cell: ({ row }) => <span className="font-medium">{row.original.name}</span> },
    {
      id: "prefix",
      header: "Token",
      cell: ({ row }) => <code className="font-mono text-xs text-muted-foreground">{row.original.prefix}…</code>,
    },
    {
      id: "scopes",
      header: "Scopes",
      cell: ({ row }) => (
        <div className="flex gap-1">
          {row.original.scopes.map((s) => (
            <Badge key={s} variant={s === "write" ? "warning" : "secondary"}>
              {s}
            </Badge>
          ))}
        </div>
      ),
    },
    ...(showAll
      ? [{ id: "owner", header: "Owner", cell: ({ row }) => row.original.owner.email } satisfies ColumnDef<TokenView, unknown>]
      : []),
    { id: "created", header: "Created", cell: ({ row }) => <RelativeTime value={row.original.createdAt} className="text-muted-foreground" /> },
    { id: "expires", header: "Expires", cell: ({ row }) => <RelativeTime value={row.original.expiresAt} className="text-muted-foreground" /> },
    {
      id: "lastUsed",
      header: "Last used",
      cell: ({ row }) => <RelativeTime value={row.original.lastUsedAt} fallback="Never" className="text-muted-foreground" />,
    },
    { id: "status", header: "Status", cell: ({ row }) => STATUS_BADGE[tokenStatus(row.original, now)] },
    {
      id: "actions",
      header: () => <span className="sr-only">Actions</span>,
      meta: { className: "w-0 text-right" },
      cell: ({ row }) =>
        row.original.revokedAt === null && (canSeeAll || row.original.owner.id === currentUserId) ? (
          <Button
            variant="outline"
            size="sm"
            className="text-destructive-strong"
            aria-label={`Revoke ${row.original.name}`}
            onClick={() => setRevoking(row.original)}
          >
            Revoke
          </Button>
        ) : null,
    },
  ];

  const error = query.error?.message ?? (isInitial ? initialError : undefined);

  return (
    <>
      <div className="mb-3 flex flex-wrap items-center justify-between gap-3">
        {canSeeAll ? (
          <div className="flex items-center gap-2">
            <Switch
              id="tokens-all-users"
              checked={showAll}
              onCheckedChange={(checked) => setParam("all", checked ? "true" : null)}
            />
            <Label htmlFor="tokens-all-users">All users</Label>
          </div>
        ) : (
          <span />
        )}
        <Button onClick={() => setIsCreateOpen(true)}>
          <Plus aria-hidden />
          Create token
        </Button>
      </div>
      {error ? (
        <Alert variant="destructive" title="Could not load tokens" className="mb-3">
          {error}
        </Alert>
      ) : null}
      <DataTable
        label="API tokens"
        columns={columns}
        data={query.data?.items ?? []}
        nextCursor={query.data?.nextCursor ?? null}
        isLoading={query.isLoading}
        getRowId={(t) => t.id}
        emptyState={
          <EmptyState
            icon={<KeyRound />}
            title={showAll ? "Nobody has an API token yet" : "You have no API tokens yet"}
            description="Tokens let scripts and CI call the admin API on your behalf."
            action={
              <Button onClick={() => setIsCreateOpen(true)}>
                <Plus aria-hidden />
                Create your first token
              </Button>
            }
          />
        }
      />
      <CreateTokenDialog open={isCreateOpen} onOpenChange={setIsCreateOpen} role={role} canWriteScope={canWriteScope} />
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title={revoking ? `Revoke token “${revoking.name}”?` : "Revoke token?"}
        description="Anything still using it gets 401 Unauthorized from its next request. This cannot be undone."
        confirmLabel="Revoke token"
        onConfirm={async () => {
          if (!revoking) return;
          await api("DELETE", `/tokens/${revoking.id}`);
          toast.success(`Token “${revoking.name}” revoked`);
          await queryClient.invalidateQueries({ queryKey: tokenKeys.all });
        }}
      >
        {revoking ? (
          <p className="text-sm">
            <code className="font-mono text-xs">{revoking.prefix}…</code>
            {revoking.owner.id !== currentUserId ? <> owned by {revoking.owner.email}</> : null}
          </p>
        ) : null}
      </ConfirmDialog>
    </>
  );
}
