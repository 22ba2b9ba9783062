"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import type { PortalCatalogItemView, UpdatePortalCatalogInput } from "@/lib/schemas/portal";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { Input } from "@/components/ui/input";
import { RetryAlert } from "@/components/ui/retry-alert";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

const catalogKey = (portalId: string) => [...portalKeys.detail(portalId), "catalog"] as const;

/**
 * A portal's prompts and resources with the controls tools have: on or off, an alias (a prompt's
 * name for clients; a resource's shown name, its URI unchanged) and a description override. From
 * what the registry last synced of the portal's servers.
 */
export function PortalCatalogCard({ portalId, canWrite }: { portalId: string; canWrite: boolean }) {
  const query = useQuery({
    queryKey: catalogKey(portalId),
    queryFn: async () => (await api<{ items: PortalCatalogItemView[] }>("GET", `/portals/${portalId}/catalog`)).items,
  });
  const queryClient = useQueryClient();
  const mutation = useMutation({
    mutationFn: (body: UpdatePortalCatalogInput) => api<PortalCatalogItemView>("PATCH", `/portals/${portalId}/catalog`, body),
    onSuccess: async (saved) => {
      toast.success(`${saved.kind === "prompt" ? "Prompt" : "Resource"} “${saved.shownName}” saved`);
      await queryClient.invalidateQueries({ queryKey: catalogKey(portalId) });
    },
    onError: (error) => toast.error(error instanceof Error ? error.message : "Could not save"),
  });

  return (
    <Card>
      <CardHeader>
        <CardTitle>Prompts and resources</CardTitle>
        <CardDescription>Turn each off, give it another name, or describe it in the portal&apos;s words, as for tools.</CardDescription>
      </CardHeader>
      <CardContent>
        {query.isPending ? (
          <SkeletonRows count={3} />
        ) : query.error ? (
          <RetryAlert title="Could not load the prompts and resources" onRetry={() => void query.refetch()} />
        ) : query.data.length === 0 ? (
          <EmptyState title="No prompts or resources" description="The portal's servers offered none when the registry last synced them." />
        ) : (
          <Table data-testid="portal-catalog">
            <TableHeader>
              <TableRow>
                <TableHead>Kind</TableHead>
                <TableHead>Server</TableHead>
                <TableHead>Shown as</TableHead>
                <TableHead>Alias</TableHead>
                <TableHead>On</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {query.data.map((item) => (
                <CatalogRow key={`${item.serverId}:${item.kind}:${item.key}`} item={item} canWrite={canWrite} isSaving={mutation.isPending} onSave={(change) => mutation.mutate({ serverId: item.serverId, kind: item.kind, key: item.key, ...change })} />
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}

function CatalogRow({ item, canWrite, isSaving, onSave }: { item: PortalCatalogItemView; canWrite: boolean; isSaving: boolean; onSave: (change: Partial<UpdatePortalCatalogInput>) => void }) {
  const [alias, setAlias] = useState(item.alias ?? "");
  const isChanged = alias.trim() !== (item.alias ?? "");
  return (
    <TableRow>
      <TableCell className="capitalize">{item.kind}</TableCell>
      <TableCell>{item.serverSlug}</TableCell>
      <TableCell>
        <div className="font-mono text-sm">{item.shownName}</div>
        {item.kind === "resource" ? <div className="font-mono text-xs text-muted-foreground">{item.key}</div> : null}
        <div className="text-xs text-muted-foreground">{item.description}</div>
      </TableCell>
      <TableCell>
        {canWrite ? (
          <form
            className="flex gap-2"
            onSubmit={(event) => {
              event.preventDefault();
              onSave({ alias: alias.trim() || null });
            }}
          >
            <Input aria-label={`Alias for ${item.key}`} value={alias} placeholder={item.kind === "prompt" ? "name for clients" : "shown name"} onChange={(e) => setAlias(e.target.value)} className="h-8 w-44" />
            <Button type="submit" size="sm" variant="outline" disabled={!isChanged || isSaving}>
              Save
            </Button>
          </form>
        ) : (
          (item.alias ?? "—")
        )}
      </TableCell>
      <TableCell>
        <Switch aria-label={`${item.kind} ${item.key} on`} checked={item.enabled} disabled={!canWrite || isSaving} onCheckedChange={(enabled) => onSave({ enabled })} />
      </TableCell>
    </TableRow>
  );
}
