"use client";

import { useState } from "react";
import Link from "next/link";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import type { PortalView, SetPortalServersInput } from "@/lib/schemas/portal";
import { Button } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { Switch } from "@/components/ui/switch";
import { FormActions } from "@/components/forms/form-actions";
import { OnOffBadge, ServerStatusBadge } from "@/components/portals/portal-badges";
import { portalMutationKeys } from "@/components/portals/portal-queries";
import { ServerChecklist } from "@/components/portals/server-checklist";

type PortalServer = PortalView["servers"][number];

const toBody = (servers: readonly Pick<PortalServer, "serverId" | "enabled">[]): SetPortalServersInput => ({
  servers: servers.map(({ serverId, enabled }) => ({ serverId, enabled })),
});

type PortalServersCardProps = { portal: PortalView; canWrite: boolean };

export function PortalServersCard({ portal, canWrite }: PortalServersCardProps) {
  const queryClient = useQueryClient();
  const [isManageOpen, setIsManageOpen] = useState(false);
  const detailKey = portalKeys.detail(portal.id);

  const setEnabled = (serverId: string, enabled: boolean) =>
    queryClient.setQueryData<PortalView>(detailKey, (current) =>
      current ? { ...current, servers: current.servers.map((s) => (s.serverId === serverId ? { ...s, enabled } : s)) } : current,
    );

  const toggle = useMutation({
    mutationKey: portalMutationKeys.servers(portal.id),
    // One at a time: each PUT carries the whole list, so they must reach the API in the order they were made.
    scope: { id: `portal-servers-${portal.id}` },
    onMutate: async ({ serverId, enabled }: { serverId: string; enabled: boolean; name: string }) => {
      await queryClient.cancelQueries({ queryKey: detailKey });
      setEnabled(serverId, enabled);
    },
    // The API replaces the whole list, so send the list as it is now, other toggles in flight included.
    mutationFn: () => api<PortalView>("PUT", `/portals/${portal.id}/servers`, toBody(queryClient.getQueryData<PortalView>(detailKey)?.servers ?? [])),
    onSuccess: (_saved, { name, enabled }) => toast.success(`${name} switched ${enabled ? "on" : "off"} in this portal`),
    onError: (error, { serverId, enabled, name }) => {
      setEnabled(serverId, !enabled);
      toast.error(`Could not switch ${name} ${enabled ? "on" : "off"}: ${error.message}`);
    },
    onSettled: async () => {
      // Only the last write in flight refetches, so an earlier answer cannot undo a later toggle on screen.
      if (queryClient.isMutating({ mutationKey: portalMutationKeys.servers(portal.id) }) > 1) return;
      await queryClient.invalidateQueries({ queryKey: portalKeys.all });
    },
  });

  return (
    <Card>
      <CardHeader>
        <CardTitle>Servers</CardTitle>
        <CardDescription>
          {canWrite
            ? "Switch a server off to stop offering all of its tools here without losing their settings."
            : "The upstream servers this portal fronts."}
        </CardDescription>
        {canWrite ? (
          <CardAction>
            <Button variant="outline" size="sm" onClick={() => setIsManageOpen(true)}>
              Add or remove servers
            </Button>
          </CardAction>
        ) : null}
      </CardHeader>
      <CardContent>
        {portal.servers.length === 0 ? (
          <p className="rounded-lg border border-dashed px-4 py-6 text-center text-sm text-muted-foreground">
            No servers in this portal yet.
            {canWrite ? " Use “Add or remove servers” to include some." : null}
          </p>
        ) : (
          <ul aria-label="Servers in this portal" className="divide-y rounded-lg border">
            {portal.servers.map((server) => (
              <li key={server.serverId} className="flex items-center gap-3 px-3 py-2.5">
                <div className="flex min-w-0 flex-1 flex-col">
                  <Link
                    href={`/servers/${server.serverId}`}
                    className="truncate text-sm font-medium underline-offset-4 outline-none hover:underline focus-visible:underline"
                  >
                    {server.name}
                  </Link>
                  <span className="truncate font-mono text-xs text-muted-foreground">{server.slug}</span>
                </div>
                <ServerStatusBadge status={server.status} />
                {canWrite ? (
                  <Switch
                    checked={server.enabled}
                    aria-label={`Enable server ${server.name}`}
                    onCheckedChange={(enabled) => toggle.mutate({ serverId: server.serverId, enabled, name: server.name })}
                  />
                ) : (
                  <OnOffBadge isOn={server.enabled} />
                )}
              </li>
            ))}
          </ul>
        )}
      </CardContent>
      {canWrite ? <ManageServersDialog portal={portal} open={isManageOpen} onOpenChange={setIsManageOpen} /> : null}
    </Card>
  );
}

type ManageServersDialogProps = { portal: PortalView; open: boolean; onOpenChange: (open: boolean) => void };

function ManageServersDialog({ portal, open, onOpenChange }: ManageServersDialogProps) {
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="Add or remove servers"
      description="Tools of the servers you include are offered through this portal, subject to its tool switches."
      dismissible={!isPending}
      className="max-w-xl"
    >
      {open ? <ManageServersForm portal={portal} onOpenChange={onOpenChange} onPendingChange={setIsPending} /> : null}
    </Dialog>
  );
}

function ManageServersForm({
  portal,
  onOpenChange,
  onPendingChange,
}: Omit<ManageServersDialogProps, "open"> & { onPendingChange: (isPending: boolean) => void }) {
  const queryClient = useQueryClient();
  const [selected, setSelected] = useState(() => portal.servers.map((s) => s.serverId));
  const [error, setError] = useState<string | null>(null);

  const save = useMutation({
    scope: { id: `portal-servers-${portal.id}` },
    mutationFn: (body: SetPortalServersInput) => api<PortalView>("PUT", `/portals/${portal.id}/servers`, body),
    onMutate: () => onPendingChange(true),
    onSettled: () => onPendingChange(false),
    onSuccess: async (saved) => {
      const before = new Set(portal.servers.map((s) => s.serverId));
      const added = saved.servers.filter((s) => !before.has(s.serverId)).length;
      const removed = portal.servers.filter((s) => !saved.servers.some((kept) => kept.serverId === s.serverId)).length;
      toast.success(
        added || removed
          ? `Servers updated: ${[added ? `${added} added` : "", removed ? `${removed} removed` : ""].filter(Boolean).join(", ")}`
          : "Servers saved",
      );
      queryClient.setQueryData(portalKeys.detail(portal.id), saved);
      await queryClient.invalidateQueries({ queryKey: portalKeys.all });
      onOpenChange(false);
    },
    onError: (cause) => {
      const fields = cause instanceof ApiError ? cause.fieldMap() : {};
      const message = fields.servers ?? Object.values(fields)[0];
      if (message) setError(message);
      else toast.error(cause.message);
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const current = new Map(portal.servers.map((s) => [s.serverId, s.enabled]));
    // Servers already in the portal keep their switch; new ones start on.
    save.mutate(toBody(selected.map((serverId) => ({ serverId, enabled: current.get(serverId) ?? true }))));
  };

  const removedCount = portal.servers.filter((s) => !selected.includes(s.serverId)).length;

  return (
    <form onSubmit={submit} noValidate className="grid gap-4">
      <ServerChecklist
        legend="Servers in this portal"
        selected={selected}
        onChange={(next) => {
          setSelected(next);
          setError(null);
        }}
        alwaysInclude={portal.servers.map((s) => ({ id: s.serverId, name: s.name, slug: s.slug, status: s.status }))}
        error={error}
      />
      {removedCount > 0 ? (
        <p className="text-[0.8125rem] text-muted-foreground" aria-live="polite">
          {removedCount === 1 ? "1 server" : `${removedCount} servers`} will be removed: clients of this portal stop seeing
          {removedCount === 1 ? " its" : " their"} tools.
        </p>
      ) : null}
      <FormActions submitLabel="Save" isPending={save.isPending} onCancel={() => onOpenChange(false)} />
    </form>
  );
}
