import Link from "next/link";
import { ArrowRight, CircleCheck, Circle, DoorOpen, ScrollText, Server, ShieldCheck, TriangleExclamationPoint, Wrench } from "lucide-react";

import type { Overview } from "@/lib/server/overview";
import type { AuditEventView } from "@/lib/schemas/audit";
import { cn } from "@/lib/utils";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { buttonVariants } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { RelativeTime } from "@/components/ui/relative-time";
import { actorLabel, targetLabel } from "@/components/audit/audit-format";

const STATUS: { key: keyof Overview["servers"]["byStatus"]; label: string; variant: BadgeVariant }[] = [
  { key: "ready", label: "Ready", variant: "success" },
  { key: "error", label: "Error", variant: "destructive" },
  { key: "stale", label: "Stale", variant: "warning" },
  { key: "waiting", label: "Waiting", variant: "secondary" },
];

function StatCard({
  title,
  value,
  icon,
  href,
  linkLabel,
  children,
  tone,
}: {
  title: string;
  value: number;
  icon: React.ReactNode;
  href: string;
  linkLabel: string;
  children?: React.ReactNode;
  tone?: "warning";
}) {
  return (
    <Card className={cn("gap-4", tone === "warning" && "border-warning/50 bg-warning/5")}>
      <CardHeader>
        <CardDescription className="flex items-center gap-2 font-medium">
          <span aria-hidden className="text-muted-foreground [&_svg]:size-4">
            {icon}
          </span>
          {title}
        </CardDescription>
        <CardTitle className="text-3xl font-semibold tabular-nums">{value}</CardTitle>
      </CardHeader>
      {children ? <CardContent className="text-sm">{children}</CardContent> : null}
      <CardContent className="mt-auto">
        <Link href={href} className="inline-flex items-center gap-1 text-sm font-medium text-primary underline-offset-4 hover:underline">
          {linkLabel}
          <ArrowRight aria-hidden className="size-3.5" />
        </Link>
      </CardContent>
    </Card>
  );
}

export function OverviewCards({ overview }: { overview: Overview }) {
  const review = overview.toolsAwaitingReview;
  return (
    <div className="grid gap-4 sm:grid-cols-2 xl:grid-cols-5">
      <StatCard title="Servers" value={overview.servers.total} icon={<Server />} href="/servers" linkLabel="View servers">
        <ul className="flex flex-wrap gap-1.5" aria-label="Servers by status">
          {STATUS.map((s) => (
            <li key={s.key}>
              <Link href={`/servers?status=${s.key}`} className="rounded-md outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50">
                <Badge variant={overview.servers.byStatus[s.key] > 0 ? s.variant : "outline"}>
                  {s.label} {overview.servers.byStatus[s.key]}
                </Badge>
              </Link>
            </li>
          ))}
        </ul>
      </StatCard>
      <StatCard title="Tools" value={overview.tools} icon={<Wrench />} href="/servers" linkLabel="Browse by server" />
      <StatCard
        title="Tools awaiting review"
        value={review.total}
        icon={<TriangleExclamationPoint />}
        href={review.servers[0] ? `/servers/${review.servers[0].id}` : "/servers"}
        linkLabel={review.total > 0 ? "Review changes" : "View servers"}
        tone={review.total > 0 ? "warning" : undefined}
      >
        {review.total > 0 ? (
          <ul className="grid gap-1" aria-label="Servers with changed tools">
            {review.servers.slice(0, 4).map((s) => (
              <li key={s.id} className="flex items-center justify-between gap-2">
                <Link href={`/servers/${s.id}`} className="truncate underline-offset-4 hover:underline">
                  {s.name}
                </Link>
                <Badge variant="warning">{s.count}</Badge>
              </li>
            ))}
          </ul>
        ) : (
          <p className="text-muted-foreground">No tool definition has changed since it was accepted.</p>
        )}
      </StatCard>
      <StatCard title="Portals" value={overview.portals} icon={<DoorOpen />} href="/portals" linkLabel="View portals" />
      <StatCard title="Portal roles" value={overview.roles} icon={<ShieldCheck />} href="/roles" linkLabel="View roles" />
    </div>
  );
}

export function GettingStarted({ overview, canWrite }: { overview: Overview; canWrite: boolean }) {
  const hasSynced = overview.tools > 0 || overview.servers.byStatus.ready > 0;
  const steps = [
    { title: "Add a server", text: "Register an upstream MCP server by its URL.", done: overview.servers.total > 0, href: "/servers", cta: "Add a server" },
    { title: "Sync it", text: "Portico connects, lists its tools and pins their definitions.", done: hasSynced, href: "/servers", cta: "Open servers" },
    { title: "Create a portal", text: "Bundle servers behind one URL, /mcp/<portal>.", done: overview.portals > 0, href: "/portals", cta: "Create a portal" },
    {
      title: "Connect a client",
      text: "Paste the portal URL into Claude Code, VS Code or any MCP client and sign in.",
      done: false,
      href: "/portals",
      cta: "Copy a portal URL",
    },
  ];
  const firstOpen = steps.findIndex((s) => !s.done);
  return (
    <Card role="region" aria-labelledby="getting-started-title">
      <CardHeader>
        <CardTitle id="getting-started-title">Getting started</CardTitle>
        <CardDescription>
          Four steps from an empty install to your first tool call.
          {canWrite ? null : " Ask an admin to do the first three."}
        </CardDescription>
      </CardHeader>
      <CardContent>
        <ol className="grid gap-3 md:grid-cols-4">
          {steps.map((step, index) => (
            <li
              key={step.title}
              className={cn("flex flex-col gap-2 rounded-lg border p-4", index === firstOpen && "border-primary/40 bg-primary/5")}
            >
              <div className="flex items-center gap-2 font-medium">
                {step.done ? (
                  <CircleCheck aria-hidden className="size-4 text-success-strong" />
                ) : (
                  <Circle aria-hidden className="size-4 text-muted-foreground" />
                )}
                <span>
                  {index + 1}. {step.title}
                </span>
                {step.done ? <span className="sr-only">(done)</span> : null}
              </div>
              <p className="text-sm text-muted-foreground">{step.text}</p>
              {!step.done && (canWrite || index === 3) ? (
                <Link href={step.href} className={cn(buttonVariants({ variant: index === firstOpen ? "default" : "outline", size: "sm" }), "mt-auto w-fit")}>
                  {step.cta}
                </Link>
              ) : null}
            </li>
          ))}
        </ol>
      </CardContent>
    </Card>
  );
}

/**
 * `seesAll`: whether the reader's role sees every change (audit:all:read). Managers and analysts
 * see only the events they caused, so for them an empty list means "you changed nothing", not
 * "nothing changed", and the card says so.
 */
export function RecentChanges({ events, seesAll }: { events: AuditEventView[]; seesAll: boolean }) {
  return (
    <Card role="region" aria-labelledby="recent-changes-title">
      <CardHeader>
        <CardTitle id="recent-changes-title">Recent configuration changes</CardTitle>
        <CardDescription>
          {seesAll
            ? "The latest changes to servers, portals, roles, users and settings."
            : "The changes you made yourself: your role does not see other people's changes."}
        </CardDescription>
        <CardAction>
          <Link href="/audit?kind=config.change" className={buttonVariants({ variant: "outline", size: "sm" })}>
            <ScrollText aria-hidden />
            Open audit log
          </Link>
        </CardAction>
      </CardHeader>
      <CardContent>
        {events.length === 0 ? (
          seesAll ? (
            <EmptyState icon={<ScrollText />} title="No changes yet" description="Changes made in the dashboard or the API appear here." />
          ) : (
            <EmptyState
              icon={<ScrollText />}
              title="No changes of yours"
              description="Your role shows only the configuration changes you made, and you have made none. Admins and auditors see every change."
            />
          )
        ) : (
          <Table aria-label="Recent configuration changes">
            <TableHeader>
              <TableRow className="hover:bg-transparent">
                <TableHead>When</TableHead>
                <TableHead>Action</TableHead>
                <TableHead>By</TableHead>
                <TableHead>Target</TableHead>
              </TableRow>
            </TableHeader>
            <TableBody>
              {events.map((event) => (
                <TableRow key={event.id}>
                  <TableCell className="text-muted-foreground">
                    <RelativeTime value={event.time} />
                  </TableCell>
                  <TableCell className="font-mono text-xs">{event.action}</TableCell>
                  <TableCell>{actorLabel(event)}</TableCell>
                  <TableCell>
                    {event.targetType ? <span className="text-muted-foreground">{event.targetType} </span> : null}
                    {targetLabel(event)}
                  </TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        )}
      </CardContent>
    </Card>
  );
}
