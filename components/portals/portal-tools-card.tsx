"use client";

import { useState } from "react";
import Link from "next/link";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Pencil, Search } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import { isToolOffered } from "@/lib/config/portal-tools";
import type { PortalToolView, PortalView } from "@/lib/schemas/portal";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { RetryAlert } from "@/components/ui/retry-alert";
import { SkeletonRows } from "@/components/ui/skeleton";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { OnOffBadge, RiskClassBadge } from "@/components/portals/portal-badges";
import { portalMutationKeys } from "@/components/portals/portal-queries";
import { ToolEditDialog } from "@/components/portals/tool-edit-dialog";

type PortalToolsCardProps = {
  portal: PortalView;
  tools: PortalToolView[] | undefined;
  isLoading: boolean;
  error: Error | null;
  onRetry: () => void;
  canWrite: boolean;
};

type Group = { serverId: string; name: string; slug: string; isServerOn: boolean; tools: PortalToolView[] };

function groupByServer(portal: PortalView, tools: PortalToolView[]): Group[] {
  const groups = new Map<string, Group>(
    portal.servers.map((s) => [s.serverId, { serverId: s.serverId, name: s.name, slug: s.slug, isServerOn: s.enabled, tools: [] }]),
  );
  for (const tool of tools) {
    let group = groups.get(tool.serverId);
    if (!group) {
      // A tool whose server left the portal since the tools were fetched: it is not offered.
      group = { serverId: tool.serverId, name: tool.serverSlug, slug: tool.serverSlug, isServerOn: false, tools: [] };
      groups.set(tool.serverId, group);
    }
    group.tools.push(tool);
  }
  return [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
}

const matches = (tool: PortalToolView, needle: string) =>
  [tool.exposedName, tool.name, tool.serverSlug].some((value) => value.toLowerCase().includes(needle));

export function PortalToolsCard({ portal, tools, isLoading, error, onRetry, canWrite }: PortalToolsCardProps) {
  const queryClient = useQueryClient();
  const [filter, setFilter] = useState("");
  const [editing, setEditing] = useState<PortalToolView | null>(null);
  const toolsKey = portalKeys.tools(portal.id);

  const setTool = (toolId: string, patch: Partial<PortalToolView>) =>
    queryClient.setQueryData<PortalToolView[]>(toolsKey, (current) => current?.map((t) => (t.toolId === toolId ? { ...t, ...patch } : t)));

  const toggle = useMutation({
    mutationKey: portalMutationKeys.tool(portal.id),
    mutationFn: ({ tool, enabled }: { tool: PortalToolView; enabled: boolean }) =>
      api<PortalToolView>("PATCH", `/portals/${portal.id}/tools/${tool.toolId}`, { enabled }),
    onMutate: async ({ tool, enabled }) => {
      await queryClient.cancelQueries({ queryKey: toolsKey });
      setTool(tool.toolId, { enabled, explicit: true });
    },
    onSuccess: (saved) => toast.success(`${saved.exposedName} switched ${saved.enabled ? "on" : "off"}`),
    onError: (cause, { tool, enabled }) => {
      setTool(tool.toolId, { enabled: tool.enabled, explicit: tool.explicit });
      toast.error(`Could not switch ${tool.exposedName} ${enabled ? "on" : "off"}: ${cause.message}`);
    },
    onSettled: async () => {
      // Refetch once the last toggle lands, so an early answer cannot flip a later toggle back on screen.
      if (queryClient.isMutating({ mutationKey: portalMutationKeys.tool(portal.id) }) > 1) return;
      await queryClient.invalidateQueries({ queryKey: toolsKey });
    },
  });

  const all = tools ?? [];
  const serverOn = new Map(portal.servers.map((s) => [s.serverId, s.enabled]));
  const isOffered = (tool: PortalToolView) =>
    isToolOffered({
      serverEnabled: serverOn.get(tool.serverId) ?? false,
      toolState: tool.toolState,
      toggle: tool.enabled,
      allowlistMode: portal.allowlistMode,
    });
  const onCount = all.filter(isOffered).length;
  const needle = filter.trim().toLowerCase();
  const groups = groupByServer(portal, needle ? all.filter((t) => matches(t, needle)) : all).filter(
    (g) => g.tools.length > 0 || !needle,
  );
  const columnCount = canWrite ? 6 : 5;

  return (
    <Card>
      <CardHeader>
        <CardTitle>Tools</CardTitle>
        <CardDescription aria-live="polite">
          {tools ? `${onCount} of ${all.length} ${all.length === 1 ? "tool" : "tools"} on` : "Loading tools…"}
        </CardDescription>
      </CardHeader>
      <CardContent className="grid grid-cols-1 gap-4">
        {portal.allowlistMode ? (
          <Alert variant="info" title="Allowlist mode is on">
            {canWrite
              ? "New tools stay off until you enable them, including tools of servers added later."
              : "New tools stay off until an admin enables them, including tools of servers added later."}
          </Alert>
        ) : null}

        {error && !tools ? (
          <RetryAlert title="Could not load the tools" onRetry={onRetry}>
            {error.message}
          </RetryAlert>
        ) : isLoading && !tools ? (
          <SkeletonRows count={5} />
        ) : portal.servers.length === 0 && all.length === 0 ? (
          <p className="rounded-lg border border-dashed px-4 py-6 text-center text-sm text-muted-foreground">
            No tools yet: this portal has no servers.
            {canWrite ? " Add servers above to offer their tools." : null}
          </p>
        ) : all.length === 0 ? (
          <p className="rounded-lg border border-dashed px-4 py-6 text-center text-sm text-muted-foreground">
            The servers of this portal have no tools yet. Tools appear once a server has been synced.
          </p>
        ) : (
          <>
            <div className="relative w-full sm:w-80">
              <Search aria-hidden className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground" />
              <Input
                type="search"
                aria-label="Filter tools"
                placeholder="Filter tools by name…"
                value={filter}
                onChange={(event) => setFilter(event.target.value)}
                className="pl-8"
              />
            </div>
            <div className="overflow-hidden rounded-lg border">
              <Table aria-label="Tools in this portal">
                <TableHeader className="bg-muted/40">
                  <TableRow className="hover:bg-transparent">
                    <TableHead className="w-0">On</TableHead>
                    <TableHead>Tool</TableHead>
                    <TableHead>Risk</TableHead>
                    <TableHead>Description</TableHead>
                    <TableHead>State</TableHead>
                    {canWrite ? (
                      <TableHead>
                        <span className="sr-only">Actions</span>
                      </TableHead>
                    ) : null}
                  </TableRow>
                </TableHeader>
                {groups.length === 0 ? (
                  <TableBody>
                    <TableRow className="hover:bg-transparent">
                      <TableCell colSpan={columnCount} className="py-6 text-center text-muted-foreground">
                        No tool matches “{filter.trim()}”.
                      </TableCell>
                    </TableRow>
                  </TableBody>
                ) : (
                  groups.map((group) => (
                    <TableBody key={group.serverId} className="border-t first:border-t-0">
                      <TableRow className="bg-muted/25 hover:bg-muted/25">
                        <TableHead colSpan={columnCount} scope="colgroup" className="h-9 normal-case tracking-normal">
                          <span className="text-sm font-semibold text-foreground">{group.name}</span>
                          <span className="ml-2 font-mono text-xs">{group.slug}</span>
                          <span className="ml-2 text-xs">
                            · {group.tools.length} {group.tools.length === 1 ? "tool" : "tools"}
                          </span>
                          {!group.isServerOn ? (
                            <Badge variant="outline" className="ml-2">
                              Server off
                            </Badge>
                          ) : null}
                        </TableHead>
                      </TableRow>
                      {group.tools.length === 0 ? (
                        <TableRow className="hover:bg-transparent">
                          <TableCell colSpan={columnCount} className="text-muted-foreground">
                            No tools from this server yet.
                          </TableCell>
                        </TableRow>
                      ) : (
                        group.tools.map((tool) => (
                          <ToolRow
                            key={tool.toolId}
                            tool={tool}
                            isServerOn={group.isServerOn}
                            isOffered={isOffered(tool)}
                            canWrite={canWrite}
                            onToggle={(enabled) => toggle.mutate({ tool, enabled })}
                            onEdit={() => setEditing(tool)}
                          />
                        ))
                      )}
                    </TableBody>
                  ))
                )}
              </Table>
            </div>
          </>
        )}
      </CardContent>
      {canWrite ? <ToolEditDialog portalId={portal.id} tool={editing} onOpenChange={(open) => !open && setEditing(null)} /> : null}
    </Card>
  );
}

type ToolRowProps = {
  tool: PortalToolView;
  isServerOn: boolean;
  isOffered: boolean;
  canWrite: boolean;
  onToggle: (enabled: boolean) => void;
  onEdit: () => void;
};

function ToolRow({ tool, isServerOn, isOffered, canWrite, onToggle, onEdit }: ToolRowProps) {
  const isChanged = tool.toolState === "changed";
  const isOverridden = tool.descriptionOverride !== null;

  let state: React.ReactNode;
  if (isChanged) {
    state = (
      <div className="flex flex-col items-start gap-1">
        <Badge variant="warning" className="whitespace-normal">
          Changed upstream — not offered until accepted
        </Badge>
        <Link href={`/servers/${tool.serverId}`} className="text-xs text-primary underline-offset-4 hover:underline">
          Review the change
        </Link>
      </div>
    );
  } else if (!isServerOn) {
    state = (
      <Badge variant="outline" title={tool.enabled ? "Switched on, offered again when the server is switched back on" : undefined}>
        Off — server is off
      </Badge>
    );
  } else {
    state = (
      <span className="flex flex-wrap items-center gap-x-1.5 gap-y-1">
        <OnOffBadge isOn={isOffered} label={isOffered ? "Offered" : "Not offered"} />
        {!tool.explicit ? <span className="text-xs whitespace-nowrap text-muted-foreground">by default</span> : null}
      </span>
    );
  }

  return (
    <TableRow className={cn(!isOffered && "text-muted-foreground")} data-state={isOffered ? "on" : "off"}>
      <TableCell>
        {canWrite ? (
          <Switch
            checked={isChanged || isServerOn ? tool.enabled : false}
            disabled={isChanged || !isServerOn}
            aria-label={`Enable tool ${tool.exposedName}`}
            title={isChanged ? "Accept the upstream change first" : !isServerOn ? "Switch the server on first" : undefined}
            onCheckedChange={onToggle}
          />
        ) : (
          <OnOffBadge isOn={isOffered} />
        )}
      </TableCell>
      <TableCell>
        <div className="flex items-center gap-1.5">
          <span className={cn("font-mono text-[0.8125rem]", isOffered && "text-foreground")}>{tool.exposedName}</span>
          {tool.alias ? (
            <Badge variant="outline" title="Renamed in this portal">
              alias
            </Badge>
          ) : null}
        </div>
        <div className="mt-0.5 text-xs text-muted-foreground">
          Upstream name <span className="font-mono">{tool.name}</span>
        </div>
      </TableCell>
      <TableCell>
        <RiskClassBadge riskClass={tool.riskClass} />
      </TableCell>
      <TableCell className="max-w-sm min-w-48 whitespace-normal">
        <div className="flex flex-col items-start gap-1">
          <span className="line-clamp-2 text-[0.8125rem]" title={tool.description}>
            {tool.description || <span className="italic">No description</span>}
          </span>
          {isOverridden ? (
            <Badge variant="info" title="Set in this portal in place of the server’s description">
              overridden
            </Badge>
          ) : null}
        </div>
      </TableCell>
      <TableCell className="min-w-40 whitespace-normal">{state}</TableCell>
      {canWrite ? (
        <TableCell className="text-right">
          <Button variant="ghost" size="sm" onClick={onEdit} aria-label={`Edit tool ${tool.exposedName}`}>
            <Pencil aria-hidden />
            Edit
          </Button>
        </TableCell>
      ) : null}
    </TableRow>
  );
}
