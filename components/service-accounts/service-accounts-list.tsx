"use client";

import { useState } from "react";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { Bot, Plus } from "lucide-react";
import { toast } from "sonner";

import { api, toQuery } from "@/lib/api/client";
import { roleKeys, serviceAccountKeys } from "@/lib/api/query-keys";
import { formatTime } from "@/lib/format";
import type { Page } from "@/lib/schemas/common";
import {
  SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS,
  SERVICE_ACCOUNT_DEFAULT_GRACE_HOURS,
  serviceAccountStatus,
  type ServiceAccountView,
  type ServiceAccountWithSecret,
} from "@/lib/schemas/service-account";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { useHydrated } from "@/components/ui/local-time";
import { RelativeTime, useNow } from "@/components/ui/relative-time";
import { RetryAlert } from "@/components/ui/retry-alert";
import { DataTable } from "@/components/data-table/data-table";
import { DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { CreateServiceAccountDialog } from "@/components/service-accounts/create-service-account-dialog";
import { SecretDialog } from "@/components/service-accounts/secret-dialog";
import {
  STATUS_META,
  serviceAccountListParams,
  type RoleOption,
  type ServiceAccountListParams,
} from "@/components/service-accounts/format";

type Pending = { kind: "rotate" | "disable" | "delete"; account: ServiceAccountView } | null;
type PendingKind = NonNullable<Pending>["kind"];

const sameParams = (a: ServiceAccountListParams, b: ServiceAccountListParams) => a.q === b.q && a.cursor === b.cursor && a.limit === b.limit;

export function ServiceAccountsList({
  initialPage,
  initialParams,
  roles,
  canWrite,
  tokenEndpoint,
}: {
  initialPage: Page<ServiceAccountView>;
  initialParams: ServiceAccountListParams;
  roles: readonly RoleOption[];
  canWrite: boolean;
  tokenEndpoint: string;
}) {
  const queryClient = useQueryClient();
  const now = useNow();
  const hydrated = useHydrated();
  const { query } = useTableSearchParams();
  const params = serviceAccountListParams(query);
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  // Kept after the dialog closes, so its text does not change while it animates away.
  const [pending, setPending] = useState<Pending>(null);
  const [isConfirmOpen, setIsConfirmOpen] = useState(false);
  const [secret, setSecret] = useState<{ account: ServiceAccountWithSecret; title: string } | null>(null);

  const accounts = useQuery({
    queryKey: serviceAccountKeys.list(params),
    queryFn: () => api<Page<ServiceAccountView>>("GET", `/service-accounts${toQuery(params)}`),
    initialData: sameParams(params, initialParams) ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const ask = (kind: PendingKind, account: ServiceAccountView) => {
    setPending({ kind, account });
    setIsConfirmOpen(true);
  };

  // A role's members include its service accounts, so the roles' views change too.
  const refresh = () => Promise.all([serviceAccountKeys.all, roleKeys.all].map((queryKey) => queryClient.invalidateQueries({ queryKey })));

  const enable = async (account: ServiceAccountView) => {
    try {
      await api("PATCH", `/service-accounts/${account.id}`, { disabled: false });
      toast.success(`“${account.name}” enabled`);
      await refresh();
    } catch (error) {
      toast.error(error instanceof Error ? error.message : "Could not enable the service account");
    }
  };

  const columns: ColumnDef<ServiceAccountView, unknown>[] = [
    { id: "name", header: "Name", cell: ({ row }) => <span className="font-medium">{row.original.name}</span> },
    {
      id: "clientId",
      header: "Client ID",
      cell: ({ row }) => (
        <div className="flex items-center gap-1">
          <code className="font-mono text-xs text-muted-foreground">{row.original.clientId}</code>
          <CopyButton value={row.original.clientId} aria-label={`Copy the client ID of ${row.original.name}`} />
        </div>
      ),
    },
    {
      id: "role",
      header: "Role",
      cell: ({ row }) => (row.original.role ? row.original.role.name : <span className="text-muted-foreground">No role</span>),
    },
    { id: "expires", header: "Expires", cell: ({ row }) => <RelativeTime value={row.original.expiresAt} className="text-muted-foreground" /> },
    {
      id: "lastUsed",
      header: "Last used",
      cell: ({ row }) => <RelativeTime value={row.original.lastUsedAt} fallback="Never" className="text-muted-foreground" />,
    },
    {
      id: "status",
      header: "Status",
      cell: ({ row }) => {
        const meta = STATUS_META[serviceAccountStatus(row.original, now)];
        return (
          <div className="flex flex-wrap items-center gap-1">
            <Badge variant={meta.variant}>{meta.label}</Badge>
            {row.original.previousSecretExpiresAt ? (
              <Badge variant="warning" title={`The previous secret works until ${formatTime(row.original.previousSecretExpiresAt, "date-time", hydrated ? undefined : "UTC")}`}>
                Old secret in grace
              </Badge>
            ) : null}
          </div>
        );
      },
    },
    ...(canWrite
      ? [
          {
            id: "actions",
            header: () => <span className="sr-only">Actions</span>,
            meta: { className: "w-0 text-right" },
            cell: ({ row }) => {
              const account = row.original;
              return (
                <div className="flex justify-end gap-2">
                  <Button variant="outline" size="sm" aria-label={`Rotate the secret of ${account.name}`} onClick={() => ask("rotate", account)}>
                    Rotate
                  </Button>
                  {account.disabledAt ? (
                    <Button variant="outline" size="sm" aria-label={`Enable ${account.name}`} onClick={() => void enable(account)}>
                      Enable
                    </Button>
                  ) : (
                    <Button variant="outline" size="sm" aria-label={`Disable ${account.name}`} onClick={() => ask("disable", account)}>
                      Disable
                    </Button>
                  )}
                  <Button
                    variant="outline"
                    size="sm"
                    className="text-destructive-strong"
                    aria-label={`Delete ${account.name}`}
                    onClick={() => ask("delete", account)}
                  >
                    Delete
                  </Button>
                </div>
              );
            },
          } satisfies ColumnDef<ServiceAccountView, unknown>,
        ]
      : []),
  ];

  const page = accounts.data;
  const isFiltered = Boolean(params.q || params.cursor);
  const openCreate = () => setIsCreateOpen(true);
  const createButton = (
    <Button onClick={openCreate}>
      <Plus aria-hidden />
      Create service account
    </Button>
  );

  const target = pending?.account;
  const confirm = {
    rotate: {
      title: `Rotate the secret of “${target?.name}”?`,
      description: `A new secret is shown once; it is valid for ${SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS} days, which also renews the account. The current one keeps working for ${SERVICE_ACCOUNT_DEFAULT_GRACE_HOURS} hours (or until it would have expired), so running jobs can switch over; then it stops.`,
      label: "Rotate secret",
      variant: "default" as const,
      run: async (account: ServiceAccountView) => {
        const rotated = await api<ServiceAccountWithSecret>("POST", `/service-accounts/${account.id}/rotate`, {
          graceHours: SERVICE_ACCOUNT_DEFAULT_GRACE_HOURS,
          expiresInDays: SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS,
        });
        setSecret({ account: rotated, title: "Copy the new secret" });
        await refresh();
      },
    },
    disable: {
      title: `Disable “${target?.name}”?`,
      description: "It gets no new tokens and leaves its role at the next config version; tokens it already holds expire within 15 minutes. You can enable it again.",
      label: "Disable",
      variant: "destructive" as const,
      run: async (account: ServiceAccountView) => {
        await api("PATCH", `/service-accounts/${account.id}`, { disabled: true });
        toast.success(`“${account.name}” disabled`);
        await refresh();
      },
    },
    delete: {
      title: `Delete “${target?.name}”?`,
      description: "Its client ID and secret stop working for good and it leaves its role. This cannot be undone.",
      label: "Delete service account",
      variant: "destructive" as const,
      run: async (account: ServiceAccountView) => {
        await api("DELETE", `/service-accounts/${account.id}`);
        toast.success(`“${account.name}” deleted`);
        await refresh();
      },
    },
  }[pending?.kind ?? "delete"];

  return (
    <>
      <PageHeader
        title="Service accounts"
        description="OAuth clients for automations. Each holds a portal role and gets 15-minute tokens for one portal at a time with the client-credentials grant."
        actions={canWrite ? createButton : undefined}
      />

      <DataTableToolbar searchPlaceholder="Search by name or client ID…" />

      {accounts.isError ? (
        <RetryAlert title="Could not load service accounts" className="mb-3" onRetry={() => void accounts.refetch()}>
          {accounts.error.message}
        </RetryAlert>
      ) : null}

      <DataTable
        label="Service accounts"
        columns={columns}
        data={page?.items ?? []}
        nextCursor={page?.nextCursor ?? null}
        isLoading={accounts.isPending || (accounts.isFetching && accounts.isPlaceholderData)}
        getRowId={(account) => account.id}
        skeletonRows={3}
        emptyState={
          isFiltered ? (
            <EmptyState icon={<Bot />} title="No service accounts match" description="Try another search." className="border-0" />
          ) : (
            <EmptyState
              icon={<Bot />}
              title="No service accounts yet"
              description="Service accounts let CI jobs and scheduled reports call portals without a person signing in."
              className="border-0"
            />
          )
        }
      />

      {canWrite ? (
        <CreateServiceAccountDialog
          open={isCreateOpen}
          onOpenChange={setIsCreateOpen}
          roles={roles}
          onCreated={(account) => setSecret({ account, title: "Copy the client secret" })}
        />
      ) : null}

      <ConfirmDialog
        open={isConfirmOpen}
        onOpenChange={setIsConfirmOpen}
        title={confirm.title}
        description={confirm.description}
        confirmLabel={confirm.label}
        variant={confirm.variant}
        onConfirm={async () => {
          if (pending) await confirm.run(pending.account);
        }}
      >
        {target ? <code className="font-mono text-xs">{target.clientId}</code> : null}
      </ConfirmDialog>

      <SecretDialog
        account={secret?.account ?? null}
        title={secret?.title ?? ""}
        tokenEndpoint={tokenEndpoint}
        roles={roles}
        onDone={() => {
          if (secret) toast.success(`Secret for “${secret.account.name}” ready`);
          setSecret(null);
        }}
      />
    </>
  );
}
