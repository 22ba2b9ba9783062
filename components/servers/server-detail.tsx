"use client";

import { useEffect, useRef, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, FileText, MessageSquareText, Pencil, RefreshCw, Trash2 } from "lucide-react";
import { toast } from "sonner";

import { api, toQuery } from "@/lib/api/client";
import { serverKeys, toolKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { ToolView } from "@/lib/schemas/tool";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Switch } from "@/components/ui/switch";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import {
  TRANSPORT_LABELS,
  readPrompts,
  readResources,
  readServerInfo,
  statusCodes,
  syncErrorMessage,
  syncSummary,
  type ServerDetailView,
  type SyncResult,
} from "@/components/servers/format";
import { RelativeTime } from "@/components/ui/relative-time";
import { ServerFormDialog } from "@/components/servers/server-form-dialog";
import { ServerStatusBadge } from "@/components/servers/server-status-badge";
import { ToolsTable } from "@/components/servers/tools-table";

/** Every tool of a server: the API pages at 100, so follow the cursor. */
export async function fetchAllServerTools(serverId: string): Promise<ToolView[]> {
  const tools: ToolView[] = [];
  let cursor: string | null = null;
  do {
    const page: Page<ToolView> = await api<Page<ToolView>>("GET", `/tools${toQuery({ serverId, limit: 100, cursor })}`);
    tools.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return tools;
}

function DetailRow({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <div className="grid grid-cols-[7rem_minmax(0,1fr)] gap-2 py-1.5 text-sm">
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

type ServerDetailProps = {
  initialServer: ServerDetailView;
  initialTools: ToolView[];
  canWrite: boolean;
};

export function ServerDetail({ initialServer, initialTools, canWrite }: ServerDetailProps) {
  const id = initialServer.id;
  const router = useRouter();
  const queryClient = useQueryClient();
  const [isEditOpen, setIsEditOpen] = useState(false);
  const [editKey, setEditKey] = useState(0);
  const [isDeleteOpen, setIsDeleteOpen] = useState(false);
  const [tab, setTab] = useState("tools");

  const serverQuery = useQuery({
    queryKey: serverKeys.detail(id),
    queryFn: () => api<ServerDetailView>("GET", `/servers/${id}`),
    initialData: initialServer,
  });
  const toolsQuery = useQuery({
    queryKey: toolKeys.list({ serverId: id }),
    queryFn: () => fetchAllServerTools(id),
    initialData: initialTools,
  });
  const server = serverQuery.data;
  const tools = toolsQuery.data;
  const prompts = readPrompts(server.prompts);
  const resources = readResources(server.resources);
  const info = readServerInfo(server.serverInfo);
  const changedCount = tools.filter((tool) => tool.state === "changed").length;

  const refreshAll = async () => {
    await Promise.all([queryClient.invalidateQueries({ queryKey: serverKeys.all }), queryClient.invalidateQueries({ queryKey: toolKeys.all })]);
    router.refresh();
  };

  const sync = useMutation({
    mutationFn: () => api<SyncResult>("POST", `/servers/${id}/sync`),
    onSuccess: async (result) => {
      const error = syncErrorMessage(result);
      if (error) toast.error(`Sync of ${server.name} failed: ${error}`);
      else toast.success(`Synced ${server.name}: ${syncSummary(result)}`);
      await refreshAll();
    },
    onError: async (error) => {
      toast.error(`Sync of ${server.name} failed: ${error.message}`);
      // A failed sync still records the error on the server.
      await refreshAll();
    },
  });

  // Arriving from "Add server" (?sync=1): the first sync starts by itself, once, and the address
  // loses the flag so a reload does not sync again.
  const isFirstSyncStarted = useRef(false);
  useEffect(() => {
    if (isFirstSyncStarted.current || !canWrite || new URLSearchParams(window.location.search).get("sync") !== "1") return;
    isFirstSyncStarted.current = true;
    router.replace(`/servers/${id}`, { scroll: false });
    if (server.lastSyncedAt === null) sync.mutate();
  }, [canWrite, id, router, server.lastSyncedAt, sync]);

  // Applies at once: the change publishes a config version, and gateways refuse the next request.
  const serverRequests = useMutation({
    mutationFn: (change: { allowSampling?: boolean; allowElicitation?: boolean }) => api<ServerDetailView>("PATCH", `/servers/${id}`, change),
    onSuccess: async (_view, change) => {
      const [what, isOn] = change.allowSampling !== undefined ? ["Sampling", change.allowSampling] : ["Elicitation", change.allowElicitation];
      toast.success(`${what} requests from ${server.name} ${isOn ? "are relayed to clients" : "are refused"}`);
      await queryClient.invalidateQueries({ queryKey: serverKeys.all });
    },
    onError: (error) => toast.error(`Could not change ${server.name}: ${error.message}`),
  });

  const deleteServer = async () => {
    await api<void>("DELETE", `/servers/${id}`);
    toast.success(`Deleted ${server.name}`);
    // This page's own queries would only answer 404 now: drop them instead of refetching.
    queryClient.removeQueries({ queryKey: serverKeys.detail(id) });
    await Promise.all([
      queryClient.invalidateQueries({ queryKey: serverKeys.all, refetchType: "inactive" }),
      queryClient.invalidateQueries({ queryKey: toolKeys.all, refetchType: "inactive" }),
    ]);
    router.push("/servers");
  };

  const detail = server.statusDetail;
  const codes = detail ? statusCodes(detail) : null;

  return (
    <>
      <Link
        href="/servers"
        className="mb-3 inline-flex items-center gap-1.5 rounded-sm text-sm text-muted-foreground outline-none hover:text-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50"
      >
        <ArrowLeft aria-hidden className="size-4" />
        Servers
      </Link>

      <PageHeader
        title={
          <span className="flex flex-wrap items-center gap-3">
            {server.name}
            <ServerStatusBadge status={server.status} className="text-sm" />
          </span>
        }
        description={server.description || undefined}
        actions={
          canWrite ? (
            <>
              <Button variant={server.status === "ready" ? "outline" : "default"} loading={sync.isPending} onClick={() => sync.mutate()}>
                {sync.isPending ? null : <RefreshCw aria-hidden />}
                Sync now
              </Button>
              <Button
                variant="outline"
                onClick={() => {
                  setEditKey((key) => key + 1);
                  setIsEditOpen(true);
                }}
              >
                <Pencil aria-hidden />
                Edit
              </Button>
              <Button variant="outline" className="text-destructive-strong hover:text-destructive-strong" onClick={() => setIsDeleteOpen(true)}>
                <Trash2 aria-hidden />
                Delete server
              </Button>
            </>
          ) : undefined
        }
      >
        <div className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-1 text-sm text-muted-foreground">
          <span className="inline-flex min-w-0 items-center gap-1">
            {/* The whole URL, wrapped where it must: a cut-off host or port is what an admin checks first. */}
            <span className="min-w-0 font-mono text-[0.8125rem] break-all text-foreground">
              {server.url}
            </span>
            <CopyButton value={server.url} aria-label="Copy server URL" className="size-7" />
          </span>
          <Badge variant="outline">{TRANSPORT_LABELS[server.transport]}</Badge>
          <span>
            Slug <code className="font-mono text-foreground">{server.slug}</code>
          </span>
        </div>
      </PageHeader>

      <div className="mb-6 grid gap-3 empty:hidden">
        {server.status === "error" ? (
          <Alert variant="destructive" title="The last sync failed">
            <p className="text-foreground">{detail?.message ?? "No details were recorded."}</p>
            {codes ? <p className="font-mono text-xs">{codes}</p> : null}
            {detail ? (
              <p>
                {detail.retryable
                  ? "This looks temporary (retryable): syncing again may work."
                  : "Syncing again will fail the same way until the URL, transport, credential or server is fixed."}
              </p>
            ) : null}
          </Alert>
        ) : null}
        {server.status === "stale" ? (
          <Alert variant="warning" title="Stale">
            Connection settings changed since the last sync: sync to refresh.
          </Alert>
        ) : null}
        {server.status === "waiting" ? (
          <Alert variant="info" title="Not synced yet">
            {canWrite
              ? "Portico has not connected to this server yet. Use Sync now to discover its tools, prompts and resources."
              : "Portico has not connected to this server yet. An admin can sync it to discover its tools."}
          </Alert>
        ) : null}
        {changedCount > 0 ? (
          <Alert variant="warning" title={`${changedCount} ${changedCount === 1 ? "tool" : "tools"} changed upstream`}>
            {changedCount === 1 ? "It is" : "They are"} quarantined until an admin reviews and accepts the new definition.
          </Alert>
        ) : null}
      </div>

      <div className="mb-6 grid gap-4 lg:grid-cols-2">
        <Card className="gap-3 py-4">
          <CardHeader className="px-4">
            <CardTitle className="text-sm">Server info</CardTitle>
          </CardHeader>
          <CardContent className="px-4">
            {info ? (
              <dl className="divide-y">
                <DetailRow label="Name">{info.title ?? info.name ?? "—"}</DetailRow>
                <DetailRow label="Version">{info.version ?? "—"}</DetailRow>
                <DetailRow label="Protocol">{info.protocolVersion ?? "—"}</DetailRow>
                {info.instructions ? (
                  <DetailRow label="Instructions">
                    <span className="line-clamp-3 text-muted-foreground" title={info.instructions}>
                      {info.instructions}
                    </span>
                  </DetailRow>
                ) : null}
              </dl>
            ) : (
              <p className="text-sm text-muted-foreground">Known after the first successful sync.</p>
            )}
          </CardContent>
        </Card>
        <Card className="gap-3 py-4">
          <CardHeader className="px-4">
            <CardTitle className="text-sm">Connection</CardTitle>
          </CardHeader>
          <CardContent className="px-4">
            <dl className="divide-y">
              <DetailRow label="Transport">{TRANSPORT_LABELS[server.transport]}</DetailRow>
              <DetailRow label="Credential">
                {server.credential.kind === "none" ? (
                  "None"
                ) : server.credential.kind === "header" ? (
                  <>
                    <code className="font-mono text-xs">{server.credential.headerName}</code> header,{" "}
                    {server.credential.hasSecret ? "a secret is stored" : "no secret stored"}
                  </>
                ) : (
                  <>
                    <code className="font-mono text-xs">{server.credential.headerName}</code> from <code className="font-mono text-xs">{server.credential.ref}</code>
                  </>
                )}
              </DetailRow>
              <DetailRow label="Sampling">
                <span className="flex items-center gap-2">
                  <Switch
                    size="sm"
                    checked={server.allowSampling}
                    disabled={!canWrite || serverRequests.isPending}
                    onCheckedChange={(checked) => serverRequests.mutate({ allowSampling: checked })}
                    aria-label="Relay sampling requests from this server to clients"
                  />
                  <span className="text-muted-foreground">{server.allowSampling ? "may ask clients' LLMs" : "refused"}</span>
                </span>
              </DetailRow>
              <DetailRow label="Elicitation">
                <span className="flex items-center gap-2">
                  <Switch
                    size="sm"
                    checked={server.allowElicitation}
                    disabled={!canWrite || serverRequests.isPending}
                    onCheckedChange={(checked) => serverRequests.mutate({ allowElicitation: checked })}
                    aria-label="Relay elicitation requests from this server to clients"
                  />
                  <span className="text-muted-foreground">{server.allowElicitation ? "may ask users for input" : "refused"}</span>
                </span>
              </DetailRow>
              <DetailRow label="Last synced">
                <RelativeTime value={server.lastSyncedAt} fallback="Never" />
              </DetailRow>
              <DetailRow label="Added">
                <RelativeTime value={server.createdAt} />
              </DetailRow>
            </dl>
          </CardContent>
        </Card>
      </div>

      <Tabs value={tab} onValueChange={setTab} className="min-w-0">
        <TabsList aria-label="Server contents">
          <TabsTrigger value="tools">
            Tools <span className="text-xs text-muted-foreground tabular-nums">{tools.length}</span>
          </TabsTrigger>
          <TabsTrigger value="prompts">
            Prompts <span className="text-xs text-muted-foreground tabular-nums">{prompts.length}</span>
          </TabsTrigger>
          <TabsTrigger value="resources">
            Resources <span className="text-xs text-muted-foreground tabular-nums">{resources.length}</span>
          </TabsTrigger>
        </TabsList>

        <TabsContent value="tools">
          <ToolsTable tools={tools} serverId={id} canWrite={canWrite} isNeverSynced={server.lastSyncedAt === null} />
        </TabsContent>

        <TabsContent value="prompts">
          {prompts.length === 0 ? (
            <EmptyState icon={<MessageSquareText />} title="No prompts" description={server.lastSyncedAt ? "The last sync found no prompts on this server." : "Sync the server to discover its prompts."} />
          ) : (
            <div className="overflow-hidden rounded-lg border bg-card">
              <Table aria-label="Prompts">
                <TableHeader className="bg-muted/40">
                  <TableRow className="hover:bg-transparent">
                    <TableHead>Prompt</TableHead>
                    <TableHead>Description</TableHead>
                    <TableHead>Arguments</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {prompts.map((prompt) => (
                    <TableRow key={prompt.name}>
                      <TableCell className="align-top">
                        <span className="font-mono text-[0.8125rem] font-medium">{prompt.name}</span>
                        {prompt.title ? <span className="block text-xs text-muted-foreground">{prompt.title}</span> : null}
                      </TableCell>
                      <TableCell className="max-w-md align-top whitespace-normal text-muted-foreground">{prompt.description ?? "—"}</TableCell>
                      <TableCell className="align-top whitespace-normal">
                        {prompt.arguments.length === 0 ? (
                          <span className="text-muted-foreground">—</span>
                        ) : (
                          <div className="flex flex-wrap gap-1">
                            {prompt.arguments.map((arg) => (
                              <Badge key={arg.name} variant="outline" title={arg.description} className="font-mono">
                                {arg.name}
                                {arg.required ? <span aria-label="required">*</span> : null}
                              </Badge>
                            ))}
                          </div>
                        )}
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </div>
          )}
        </TabsContent>

        <TabsContent value="resources">
          {resources.length === 0 ? (
            <EmptyState icon={<FileText />} title="No resources" description={server.lastSyncedAt ? "The last sync found no resources on this server." : "Sync the server to discover its resources."} />
          ) : (
            <div className="overflow-hidden rounded-lg border bg-card">
              <Table aria-label="Resources">
                <TableHeader className="bg-muted/40">
                  <TableRow className="hover:bg-transparent">
                    <TableHead>Resource</TableHead>
                    <TableHead>URI</TableHead>
                    <TableHead>Type</TableHead>
                    <TableHead>Description</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {resources.map((resource, index) => (
                    <TableRow key={`${resource.uri}-${index}`}>
                      <TableCell className="align-top font-medium">{resource.title ?? resource.name}</TableCell>
                      <TableCell className="max-w-xs align-top">
                        <span className="block truncate font-mono text-xs" title={resource.uri}>
                          {resource.uri}
                        </span>
                      </TableCell>
                      <TableCell className="align-top text-muted-foreground">{resource.mimeType ?? "—"}</TableCell>
                      <TableCell className="max-w-md align-top whitespace-normal text-muted-foreground">{resource.description ?? "—"}</TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            </div>
          )}
        </TabsContent>
      </Tabs>

      {canWrite ? (
        <>
          <ServerFormDialog key={editKey} open={isEditOpen} onOpenChange={setIsEditOpen} server={server} />
          <ConfirmDialog
            open={isDeleteOpen}
            onOpenChange={setIsDeleteOpen}
            title={`Delete server ${server.name}?`}
            description={`Its ${server.toolCount} ${server.toolCount === 1 ? "tool" : "tools"} disappear from every portal that uses them. This cannot be undone from here.`}
            confirmLabel="Delete server"
            onConfirm={deleteServer}
          />
        </>
      ) : null}
    </>
  );
}
