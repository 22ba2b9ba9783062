"use client";

import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { UserPlus, Users } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { userKeys } from "@/lib/api/query-keys";
import { dashboardRoles, roleLabels } from "@/lib/auth/permissions";
import type { Page } from "@/lib/schemas/common";
import type { UserView } from "@/lib/schemas/user";
import { DataTable } from "@/components/data-table/data-table";
import { DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { RelativeTime } from "@/components/ui/relative-time";
import { AddUserDialog } from "@/components/users/add-user-dialog";
import { ManageUserDialog } from "@/components/users/manage-user-dialog";
import { MfaBadge, RoleBadge, SourceLabel, StatusBadge } from "@/components/users/user-badges";

export type UserListParams = { q?: string; role?: string; cursor?: string };

export function UsersTable({
  initialPage,
  initialParams,
  initialError,
  canWrite,
  currentUserId,
}: {
  initialPage: Page<UserView>;
  initialParams: UserListParams;
  initialError?: string;
  canWrite: boolean;
  currentUserId: string;
}) {
  const { get } = useTableSearchParams();
  const [isAddOpen, setIsAddOpen] = useState(false);
  const [managedId, setManagedId] = useState<string | null>(null);
  const params: UserListParams = { q: get("q") ?? undefined, role: get("role") ?? undefined, cursor: get("cursor") ?? undefined };
  const isInitial = params.q === initialParams.q && params.role === initialParams.role && params.cursor === initialParams.cursor;

  const query = useQuery({
    queryKey: userKeys.list(params),
    queryFn: () => api<Page<UserView>>("GET", `/users${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });
  const users = query.data?.items ?? [];
  // Looked up in the live list, so the dialog shows the user as the last write left them.
  const managed = managedId ? users.find((u) => u.id === managedId) : undefined;

  const columns: ColumnDef<UserView, unknown>[] = [
    { id: "name", header: "Name", cell: ({ row }) => <span className="font-medium">{row.original.name}</span> },
    { id: "email", header: "Email", cell: ({ row }) => <span className="text-muted-foreground">{row.original.email}</span> },
    { id: "role", header: "Role", cell: ({ row }) => <RoleBadge role={row.original.role} /> },
    { id: "source", header: "Source", cell: ({ row }) => <SourceLabel source={row.original.source} /> },
    { id: "mfa", header: "MFA", cell: ({ row }) => <MfaBadge enabled={row.original.mfaEnabled} /> },
    { id: "status", header: "Status", cell: ({ row }) => <StatusBadge user={row.original} /> },
    {
      id: "lastLogin",
      header: "Last sign-in",
      cell: ({ row }) => <RelativeTime value={row.original.lastLoginAt} fallback="Never" className="text-muted-foreground" />,
    },
    ...(canWrite
      ? [
          {
            id: "actions",
            header: () => <span className="sr-only">Actions</span>,
            meta: { className: "w-0 text-right" },
            cell: ({ row }) => (
              <Button variant="outline" size="sm" aria-label={`Manage ${row.original.name}`} onClick={() => setManagedId(row.original.id)}>
                Manage
              </Button>
            ),
          } satisfies ColumnDef<UserView, unknown>,
        ]
      : []),
  ];

  const error = query.error?.message ?? (isInitial ? initialError : undefined);
  const hasFilter = Boolean(params.q || params.role);

  return (
    <>
      <DataTableToolbar
        searchPlaceholder="Search by name or email…"
        filters={[{ key: "role", label: "Role", options: dashboardRoles.map((r) => ({ value: r, label: roleLabels[r] })) }]}
      >
        {canWrite ? (
          <Button onClick={() => setIsAddOpen(true)}>
            <UserPlus aria-hidden />
            Add user
          </Button>
        ) : null}
      </DataTableToolbar>
      {error ? (
        <Alert variant="destructive" title="Could not load users" className="mb-3">
          {error}
        </Alert>
      ) : null}
      <DataTable
        label="Users"
        columns={columns}
        data={users}
        nextCursor={query.data?.nextCursor ?? null}
        isLoading={query.isLoading}
        getRowId={(u) => u.id}
        onRowClick={canWrite ? (u) => setManagedId(u.id) : undefined}
        emptyState={
          <EmptyState
            icon={<Users />}
            title={hasFilter ? "No users match" : "No users yet"}
            description={hasFilter ? "Try another search or reset the filters." : "People appear here once added, or after their first SSO sign-in."}
          />
        }
      />
      {canWrite ? <AddUserDialog open={isAddOpen} onOpenChange={setIsAddOpen} /> : null}
      {canWrite && managed ? (
        <ManageUserDialog key={managed.id} user={managed} isSelf={managed.id === currentUserId} onOpenChange={(open) => !open && setManagedId(null)} />
      ) : null}
    </>
  );
}
