import type { Metadata } from "next";
import { RadioTower } from "lucide-react";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listConfigVersions } from "@/lib/server/config-versions";
import { listGateways } from "@/lib/server/gateways";
import { DeadLettersCell } from "@/components/gateways/dead-letters-cell";
import { Alert } from "@/components/ui/alert";
import { AutoRefresh } from "@/components/ui/auto-refresh";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { PageHeader } from "@/components/ui/page-header";
import { RelativeTime } from "@/components/ui/relative-time";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

/** 850 ms, 12.3 s, 4 min 5 s: a lag or an ack time at a glance. */
function formatMs(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export const metadata: Metadata = { title: "Gateways" };
export const dynamic = "force-dynamic";

const DESCRIPTION =
  "The gateways serving your portals, the config version each one runs, and the signed versions the control plane has published. Every saved change to servers, portals or roles publishes a new version and pushes it to every gateway.";

export default async function GatewaysPage() {
  const actor = await requireUser();
  if (!can(actor, "registry:read")) {
    return (
      <>
        <PageHeader title="Gateways" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Ask an admin for access to the registry.
        </Alert>
      </>
    );
  }
  const db = await getDb();
  const [gateways, versions] = await Promise.all([listGateways(db, actor), listConfigVersions(db, actor, { limit: 10 })]);
  return (
    <>
      <PageHeader title="Gateways" description={DESCRIPTION} />
      {/* A gateway going offline or coming back shows without a reload. */}
      <AutoRefresh intervalMs={10_000} />
      <div className="space-y-6">
        {gateways.length === 0 ? (
          <EmptyState
            icon={<RadioTower className="size-6" />}
            title="No gateway has reported in yet"
            description="Start one with PORTICO_CONTROL_PLANE_URL pointing here and the shared PORTICO_GATEWAY_TOKEN; it appears within seconds."
          />
        ) : (
          <Table aria-label="Gateways">
            <TableHeader>
              <TableRow>
                <TableHead>Name</TableHead>
                <TableHead>URL</TableHead>
                <TableHead>Config version</TableHead>
                <TableHead>Lag</TableHead>
                <TableHead>Publish → ack</TableHead>
                <TableHead>Status</TableHead>
                <TableHead>Last seen</TableHead>
                <TableHead>Started</TableHead>
                <TableHead>Dead letters</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {gateways.map((g) => (
                <TableRow key={g.id}>
                  <TableCell className="font-medium">{g.name}</TableCell>
                  <TableCell className="font-mono text-xs">{g.url}</TableCell>
                  <TableCell>
                    {g.runningVersion ?? "none"}
                    {g.latestVersion !== null && <span className="text-muted-foreground"> of {g.latestVersion}</span>}
                  </TableCell>
                  <TableCell data-testid="gateway-lag">{g.versionsBehind === 0 ? "none" : `${g.versionsBehind} version${g.versionsBehind === 1 ? "" : "s"}, ${formatMs(g.lagMs)}`}</TableCell>
                  <TableCell>{g.publishToAckMs === null ? <span className="text-muted-foreground">unknown</span> : formatMs(g.publishToAckMs)}</TableCell>
                  <TableCell className="space-x-1">
                    {g.isOnline ? <Badge variant="success">Online</Badge> : <Badge variant="destructive">Offline</Badge>}
                    {g.isOnline && g.hasRestartedRecently && <Badge variant="warning">Restarted</Badge>}
                    {g.isLagging ? (
                      <Badge variant="destructive">Behind over a minute</Badge>
                    ) : g.isBehind ? (
                      <Badge variant="warning">Behind</Badge>
                    ) : (
                      <Badge variant="secondary">Up to date</Badge>
                    )}
                  </TableCell>
                  <TableCell>
                    <RelativeTime value={g.lastSeenAt} />
                  </TableCell>
                  <TableCell>
                    <RelativeTime value={g.startedAt} />
                  </TableCell>
                  <TableCell>
                    <DeadLettersCell gatewayId={g.id} gatewayName={g.name} deadLetters={g.deadLetters} canReplay={can(actor, "settings:write")} />
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}

        <Card>
          <CardHeader>
            <CardTitle>Config versions</CardTitle>
            <CardDescription>Immutable and signed (Ed25519). The newest ten.</CardDescription>
          </CardHeader>
          <CardContent>
            {versions.items.length === 0 ? (
              <p className="text-sm text-muted-foreground">Nothing published yet: the first version is made when a gateway first asks or a change is saved.</p>
            ) : (
              <Table aria-label="Config versions">
                <TableHeader>
                  <TableRow>
                    <TableHead>Version</TableHead>
                    <TableHead>Change</TableHead>
                    <TableHead>Published</TableHead>
                  </TableRow>
                </TableHeader>
                <TableBody>
                  {versions.items.map((v) => (
                    <TableRow key={v.id}>
                      <TableCell className="font-medium">{v.version}</TableCell>
                      <TableCell className="text-sm">{v.summary}</TableCell>
                      <TableCell>
                        <RelativeTime value={v.createdAt} />
                      </TableCell>
                    </TableRow>
                  ))}
                </TableBody>
              </Table>
            )}
          </CardContent>
        </Card>
      </div>
    </>
  );
}
