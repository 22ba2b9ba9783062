"use client";

import { useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useQueryClient } from "@tanstack/react-query";
import { ChevronLeft, Pencil, Trash2 } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import type { PortalToolView, PortalView } from "@/lib/schemas/portal";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { PageHeader } from "@/components/ui/page-header";
import { RelativeTime } from "@/components/ui/relative-time";
import { RetryAlert } from "@/components/ui/retry-alert";
import { AllowlistBadge } from "@/components/portals/portal-badges";
import { PortalAccessCard } from "@/components/portals/portal-access-card";
import { PortalConnectCard } from "@/components/portals/portal-connect-card";
import { PortalFormDialog } from "@/components/portals/portal-form-dialog";
import { usePortal, usePortalTools } from "@/components/portals/portal-queries";
import { PortalServersCard } from "@/components/portals/portal-servers-card";
import { PortalToolsCard } from "@/components/portals/portal-tools-card";
import { PortalCatalogCard } from "@/components/portals/portal-catalog-card";
import { PortalUrl } from "@/components/portals/portal-url";

type PortalDetailProps = {
  initialPortal: PortalView;
  initialTools: PortalToolView[];
  canWrite: boolean;
  urlPrefix: string;
};

export function PortalDetail({ initialPortal, initialTools, canWrite, urlPrefix }: PortalDetailProps) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const portalQuery = usePortal(initialPortal.id, initialPortal);
  const toolsQuery = usePortalTools(initialPortal.id, initialTools);
  const [isEditOpen, setIsEditOpen] = useState(false);
  const [isDeleteOpen, setIsDeleteOpen] = useState(false);
  const portal = portalQuery.data ?? initialPortal;

  const deletePortal = async () => {
    await api<void>("DELETE", `/portals/${portal.id}`);
    toast.success(`Portal “${portal.name}” deleted`);
    // Drop this portal's queries before leaving, so nothing refetches a portal that is gone.
    queryClient.removeQueries({ queryKey: portalKeys.detail(portal.id) });
    queryClient.removeQueries({ queryKey: portalKeys.tools(portal.id) });
    await queryClient.invalidateQueries({ queryKey: [...portalKeys.all, "list"] });
    router.push("/portals");
    router.refresh();
  };

  return (
    <div className="flex min-w-0 flex-col gap-6">
      <div>
        <Link
          href="/portals"
          className="-ml-1 inline-flex items-center gap-1 rounded-md px-1 text-sm text-muted-foreground outline-none hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50"
        >
          <ChevronLeft aria-hidden className="size-4" />
          Portals
        </Link>
      </div>

      <PageHeader
        className="mb-0"
        title={portal.name}
        description={portal.description || undefined}
        actions={
          canWrite ? (
            <>
              <Button variant="outline" onClick={() => setIsEditOpen(true)}>
                <Pencil aria-hidden />
                Edit
              </Button>
              <Button variant="outline" className="text-destructive-strong hover:text-destructive-strong" onClick={() => setIsDeleteOpen(true)}>
                <Trash2 aria-hidden />
                Delete portal
              </Button>
            </>
          ) : null
        }
      >
        <div className="mt-2 flex flex-col gap-2">
          <PortalUrl url={portal.url} className="w-fit max-w-2xl" />
          <div className="flex flex-wrap items-center gap-x-3 gap-y-1 text-xs text-muted-foreground">
            <AllowlistBadge isOn={portal.allowlistMode} />
            <span>
              Slug <span className="font-mono text-foreground">{portal.slug}</span>
            </span>
            <span>
              Updated <RelativeTime value={portal.updatedAt} />
            </span>
          </div>
        </div>
      </PageHeader>

      {portalQuery.isError ? (
        <RetryAlert title="Could not refresh this portal" onRetry={() => void portalQuery.refetch()}>
          {portalQuery.error.message}. What you see may be out of date.
        </RetryAlert>
      ) : null}

      <div className="grid grid-cols-1 items-start gap-6 lg:grid-cols-2">
        <PortalConnectCard slug={portal.slug} url={portal.url} />
        <div className="grid gap-6">
          <PortalServersCard portal={portal} canWrite={canWrite} />
          <PortalAccessCard portal={portal} canWrite={canWrite} />
        </div>
      </div>

      <PortalToolsCard
        portal={portal}
        tools={toolsQuery.data}
        isLoading={toolsQuery.isPending}
        error={toolsQuery.error}
        onRetry={() => void toolsQuery.refetch()}
        canWrite={canWrite}
      />

      <PortalCatalogCard portalId={portal.id} canWrite={canWrite} />

      {canWrite ? (
        <>
          <PortalFormDialog mode="edit" portal={portal} open={isEditOpen} onOpenChange={setIsEditOpen} urlPrefix={urlPrefix} />
          <ConfirmDialog
            open={isDeleteOpen}
            onOpenChange={setIsDeleteOpen}
            title={`Delete portal “${portal.name}”?`}
            description="Clients connected to this portal lose access at once, and its tool switches, aliases and description overrides are deleted. The servers themselves are kept."
            confirmLabel="Delete portal"
            onConfirm={deletePortal}
          >
            <code className="block truncate rounded-md border bg-muted/50 px-3 py-2 font-mono text-[0.8125rem]">{portal.url}</code>
          </ConfirmDialog>
        </>
      ) : null}
    </div>
  );
}
