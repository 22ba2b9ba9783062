"use client";

import Link from "next/link";
import { useRouter } from "next/navigation";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import type { ColumnDef } from "@tanstack/react-table";
import { Plus, ShieldCheck } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { roleKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { RoleView } from "@/lib/schemas/role";
import { DataTable } from "@/components/data-table/data-table";
import { DataTableToolbar } from "@/components/data-table/data-table-toolbar";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { buttonVariants } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { summarizeConditions, summarizeGrants, summarizePrincipals } from "@/components/roles/role-summary";

export type RoleListParams = { q?: string; cursor?: string };

const columns: ColumnDef<RoleView, unknown>[] = [
  {
    id: "name",
    header: "Name",
    cell: ({ row }) => (
      <Link href={`/roles/${row.original.id}`} className="font-medium underline-offset-4 hover:underline">
        {row.original.name}
      </Link>
    ),
  },
  { id: "slug", header: "Slug", cell: ({ row }) => <span className="font-mono text-xs text-muted-foreground">{row.original.slug}</span> },
  {
    id: "principals",
    header: "Principals",
    meta: { className: "whitespace-normal min-w-40" },
    cell: ({ row }) => summarizePrincipals(row.original),
  },
  {
    id: "grants",
    header: "Access",
    meta: { className: "whitespace-normal min-w-48" },
    cell: ({ row }) => summarizeGrants(row.original),
  },
  {
    id: "conditions",
    header: "Conditions",
    meta: { className: "whitespace-normal min-w-48" },
    cell: ({ row }) => <span className="text-muted-foreground">{summarizeConditions(row.original)}</span>,
  },
  {
    id: "stepUp",
    header: "Step-up for",
    cell: ({ row }) =>
      row.original.stepUpRiskClasses.length ? (
        <div className="flex flex-wrap gap-1">
          {row.original.stepUpRiskClasses.map((r) => (
            <Badge key={r} variant={r === "read" ? "secondary" : "warning"}>
              {r}
            </Badge>
          ))}
        </div>
      ) : (
        <span className="text-muted-foreground">—</span>
      ),
  },
];

export function RolesTable({
  initialPage,
  initialParams,
  initialError,
  canWrite,
}: {
  initialPage: Page<RoleView>;
  initialParams: RoleListParams;
  initialError?: string;
  canWrite: boolean;
}) {
  const router = useRouter();
  const { get } = useTableSearchParams();
  const params: RoleListParams = { q: get("q") ?? undefined, cursor: get("cursor") ?? undefined };
  const isInitial = params.q === initialParams.q && params.cursor === initialParams.cursor;

  const query = useQuery({
    queryKey: roleKeys.list(params),
    queryFn: () => api<Page<RoleView>>("GET", `/roles${toQuery({ ...params, limit: 50 })}`),
    initialData: isInitial && !initialError ? initialPage : undefined,
    placeholderData: keepPreviousData,
  });

  const error = query.error?.message ?? (isInitial ? initialError : undefined);
  const hasFilter = Boolean(params.q);

  return (
    <>
      <DataTableToolbar searchPlaceholder="Search roles…" />
      {error ? (
        <Alert variant="destructive" title="Could not load roles" className="mb-3">
          {error}
        </Alert>
      ) : null}
      <DataTable
        label="Portal roles"
        columns={columns}
        data={query.data?.items ?? []}
        nextCursor={query.data?.nextCursor ?? null}
        isLoading={query.isLoading}
        getRowId={(r) => r.id}
        onRowClick={(r) => router.push(`/roles/${r.id}`)}
        emptyState={
          hasFilter ? (
            <EmptyState icon={<ShieldCheck />} title="No roles match" description="Try another search." />
          ) : (
            <EmptyState
              icon={<ShieldCheck />}
              title="No portal roles yet"
              description="Roles decide who may use which portals, servers and tools, and under which conditions. Without one, nobody can call a tool."
              action={
                canWrite ? (
                  <Link href="/roles/new" className={buttonVariants()}>
                    <Plus aria-hidden />
                    Create your first role
                  </Link>
                ) : undefined
              }
            />
          )
        }
      />
    </>
  );
}
