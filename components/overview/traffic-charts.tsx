"use client";

import { useState } from "react";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { Area, AreaChart, Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { Activity, Download } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { dashboardKeys } from "@/lib/api/query-keys";
import { trafficRangeValues } from "@/lib/schemas/dashboard";
import type { CostRow, Dashboards } from "@/lib/server/dashboards";
import { denialWindow, overviewAuditHref, type AuditLinkFilter, type OverviewWindow } from "@/lib/dashboards/audit-links";
import { SEVERITY_COLORS, STEPUP_COLORS, timeAxis } from "@/lib/dashboards/chart-format";
import { formatTime } from "@/lib/format";
import { buttonVariants } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { Select } from "@/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

const DECISION_COLORS = { allowed: "var(--success)", denied: "var(--destructive)", stepup: "var(--warning)", error: "var(--chart-1)" } as const; // indigo: the theme's chart-4 is a second red beside denied
const DECISION_LABELS = { allowed: "Allowed", denied: "Denied", stepup: "Step-up", error: "Error" } as const;
const RANGE_LABELS: Record<(typeof trafficRangeValues)[number], string> = { "1h": "Last hour", "6h": "Last 6 hours", "24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days" };


function ChartLink({ href, label }: { href: string; label: string }) {
  return (
    <CardAction>
      <Link href={href} className="text-xs font-medium text-primary underline-offset-4 hover:underline">
        {label}
      </Link>
    </CardAction>
  );
}

/** The time axis of a chart over `rows`, in the viewer's zone and locale (Recharts draws in the browser only). */
function timeAxisProps(rows: readonly { time: string }[], range: string) {
  const axis = timeAxis(rows.map((r) => r.time), range);
  return { dataKey: "time", ticks: axis.ticks, interval: axis.ticks ? 0 : undefined, tickFormatter: (v: string) => axis.label(v), minTickGap: 32, fontSize: 12 } as const;
}

function Empty({ what }: { what: string }) {
  return <p className="py-8 text-center text-sm text-muted-foreground">{what}</p>;
}

/**
 * What happens through the portals, from per-minute rollups kept at ingest: calls by decision
 * over time, top tools and callers, denials, upstream latency and errors, alerts, and what each
 * team's usage costs upstream. Each chart opens the audit log with the same filter.
 */
export function TrafficCharts({ initial, initialCost }: { initial: Dashboards; initialCost: CostRow[] }) {
  const [range, setRange] = useState(initial.range);
  const [portal, setPortal] = useState("");
  const params = { range, ...(portal ? { portal } : {}) };
  const isInitial = range === initial.range && !portal;
  const data = useQuery({
    queryKey: dashboardKeys.list(params),
    queryFn: () => api<Dashboards>("GET", `/dashboards/traffic${toQuery(params)}`),
    initialData: isInitial ? initial : undefined,
    refetchInterval: 30_000,
  }).data;
  const cost = useQuery({
    queryKey: [...dashboardKeys.all, "cost", params],
    queryFn: () => api<{ items: CostRow[] }>("GET", `/dashboards/cost-attribution${toQuery(params)}`).then((r) => r.items),
    initialData: isInitial ? initialCost : undefined,
    refetchInterval: 60_000,
  }).data;

  const totalCalls = data ? Object.values(data.totals).reduce((a, b) => a + b, 0) : 0;
  // Every link opens the rows its figure counted: the window the data was counted over, its portal.
  const window: OverviewWindow = { from: data?.from ?? initial.from, to: data?.to ?? initial.to, portal: portal || undefined };
  const auditHref = (filter: AuditLinkFilter) => overviewAuditHref(window, filter);
  const alertTotal = data ? data.alertsBySeverity.reduce((n, p) => n + p.low + p.medium + p.high + p.critical, 0) : 0;

  return (
    <section aria-label="Traffic" className="space-y-4">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h2 className="text-lg font-semibold">Traffic through the portals</h2>
        <div className="flex gap-2">
          <Select aria-label="Portal" wrapperClassName="w-44" placeholder="All portals" value={portal} onChange={(e) => setPortal(e.target.value)} options={(data?.portals ?? initial.portals).map((p) => ({ value: p, label: p }))} />
          <Select
            aria-label="Time range"
            wrapperClassName="w-44"
            value={range}
            onChange={(e) => setRange(e.target.value as typeof range)}
            options={trafficRangeValues.map((r) => ({ value: r, label: RANGE_LABELS[r] }))}
          />
        </div>
      </div>
      {!data ? (
        <Empty what="Loading…" />
      ) : totalCalls === 0 ? (
        <EmptyState
          icon={<Activity className="size-6" />}
          title="No MCP calls in this range"
          description="Calls through the gateway appear here within seconds, stacked by decision (allowed, denied, step-up, error), with the busiest tools and callers, upstream latency and what each team's usage costs."
        />
      ) : (
        <>
          <Card>
            <CardHeader>
              <CardTitle>Calls over time</CardTitle>
              <CardDescription>
                {totalCalls.toLocaleString("en")} calls: {data.totals.allowed.toLocaleString("en")} allowed, {data.totals.denied.toLocaleString("en")} denied, {data.totals.stepup.toLocaleString("en")} step-up,{" "}
                {data.totals.error.toLocaleString("en")} errors
              </CardDescription>
              <ChartLink href={auditHref({ kind: "mcp.request" })} label="Open in audit log" />
            </CardHeader>
            <CardContent>
              <div className="h-64" data-testid="calls-chart">
                <ResponsiveContainer width="100%" height="100%">
                  <AreaChart data={data.calls} margin={{ left: 0, right: 8, top: 8, bottom: 0 }}>
                    <CartesianGrid strokeDasharray="3 3" vertical={false} />
                    <XAxis {...timeAxisProps(data.calls, range)} />
                    <YAxis allowDecimals={false} width={40} fontSize={12} />
                    <Tooltip labelFormatter={(v) => formatTime(String(v))} />
                    <Legend />
                    {(Object.keys(DECISION_COLORS) as (keyof typeof DECISION_COLORS)[]).map((k) => (
                      <Area key={k} type="monotone" dataKey={k} name={DECISION_LABELS[k]} stackId="calls" stroke={DECISION_COLORS[k]} fill={DECISION_COLORS[k]} fillOpacity={0.35} isAnimationActive={false} />
                    ))}
                  </AreaChart>
                </ResponsiveContainer>
              </div>
            </CardContent>
          </Card>

          <div className="grid gap-4 lg:grid-cols-2">
            <Card>
              <CardHeader>
                <CardTitle>Top tools</CardTitle>
                <ChartLink href={auditHref({ kind: "mcp.request" })} label="Audit log" />
              </CardHeader>
              <CardContent>
                {data.topTools.length === 0 ? (
                  <Empty what="No tool calls in this range." />
                ) : (
                  <ul className="space-y-1.5 text-sm" aria-label="Top tools">
                    {data.topTools.map((t) => (
                      <BarRow key={`${t.server}/${t.tool}`} label={`${t.server}/${t.tool}`} value={t.calls} max={data.topTools[0]!.calls} href={auditHref({ kind: "mcp.request", server: t.server || undefined, tool: t.tool })} />
                    ))}
                  </ul>
                )}
              </CardContent>
            </Card>
            <Card>
              <CardHeader>
                <CardTitle>Top callers</CardTitle>
                <ChartLink href={auditHref({ kind: "mcp.request" })} label="Audit log" />
              </CardHeader>
              <CardContent>
                <ul className="space-y-1.5 text-sm" aria-label="Top callers">
                  {data.topCallers.map((c) => (
                    <BarRow key={c.actor} label={c.name ?? c.actor} value={c.calls} max={data.topCallers[0]!.calls} href={auditHref({ kind: "mcp.request", actor: c.actor })} />
                  ))}
                </ul>
              </CardContent>
            </Card>
            <Card>
              <CardHeader>
                <CardTitle>Denials by rule</CardTitle>
                <CardDescription>First reason of each refused call in range</CardDescription>
                <ChartLink href={overviewAuditHref(denialWindow(window), { kind: "mcp.request", outcome: "deny" })} label="Audit log" />
              </CardHeader>
              <CardContent>
                {data.denialsByRule.length === 0 ? (
                  <Empty what="No denials in this range." />
                ) : (
                  <ul className="space-y-1.5 text-sm" aria-label="Denials by rule">
                    {data.denialsByRule.map((d) => (
                      <BarRow key={d.reason} label={d.reason} value={d.count} max={data.denialsByRule[0]!.count} href={overviewAuditHref(denialWindow(window), { kind: "mcp.request", outcome: "deny", rule: d.reason })}
                        tone="destructive" />
                    ))}
                  </ul>
                )}
              </CardContent>
            </Card>
            <Card>
              <CardHeader>
                <CardTitle>Upstream servers</CardTitle>
                <CardDescription>Latency (bucket estimate) and error rate of forwarded calls</CardDescription>
              </CardHeader>
              <CardContent>
                {data.servers.length === 0 ? (
                  <Empty what="No forwarded calls in this range." />
                ) : (
                  <Table aria-label="Upstream latency">
                    <TableHeader>
                      <TableRow>
                        <TableHead>Server</TableHead>
                        <TableHead className="text-right">Calls</TableHead>
                        <TableHead className="text-right">p50</TableHead>
                        <TableHead className="text-right">p95</TableHead>
                        <TableHead className="text-right">Errors</TableHead>
                      </TableRow>
                    </TableHeader>
                    <TableBody>
                      {data.servers.map((s) => (
                        <TableRow key={s.server}>
                          <TableCell>
                            <Link href={auditHref({ kind: "mcp.request", server: s.server })} className="hover:underline">
                              {s.server}
                            </Link>
                          </TableCell>
                          <TableCell className="text-right tabular-nums">{s.calls.toLocaleString("en")}</TableCell>
                          <TableCell className="text-right tabular-nums">{s.p50 === null ? "—" : `≤ ${s.p50} ms`}</TableCell>
                          <TableCell className="text-right tabular-nums">{s.p95 === null ? "—" : `≤ ${s.p95} ms`}</TableCell>
                          <TableCell className="text-right tabular-nums">{(s.errorRate * 100).toFixed(1)}%</TableCell>
                        </TableRow>
                      ))}
                    </TableBody>
                  </Table>
                )}
              </CardContent>
            </Card>
          </div>
        </>
      )}

      {data ? (
        <Card>
          <CardHeader>
            <CardTitle>Alerts by severity</CardTitle>
            <ChartLink href="/alerts?status=" label="Open alerts" />
          </CardHeader>
          <CardContent>
            {alertTotal === 0 ? (
              <Empty what="No alerts were raised in this range." />
            ) : (
              <div className="h-48" data-testid="alerts-chart">
                <ResponsiveContainer width="100%" height="100%">
                  <BarChart data={data.alertsBySeverity}>
                    <CartesianGrid strokeDasharray="3 3" vertical={false} />
                    <XAxis {...timeAxisProps(data.alertsBySeverity, range)} />
                    <YAxis allowDecimals={false} width={32} fontSize={12} />
                    <Tooltip labelFormatter={(v) => formatTime(String(v))} />
                    <Legend />
                    {(Object.keys(SEVERITY_COLORS) as (keyof typeof SEVERITY_COLORS)[]).map((k) => (
                      <Bar key={k} dataKey={k} name={k} stackId="sev" fill={SEVERITY_COLORS[k]} isAnimationActive={false} />
                    ))}
                  </BarChart>
                </ResponsiveContainer>
              </div>
            )}
          </CardContent>
        </Card>
      ) : null}

      {data ? <StepUpCard stepUp={data.stepUp} range={range} auditHref={auditHref} /> : null}

      <Card>
        <CardHeader>
          <CardTitle>Cost attribution</CardTitle>
          <CardDescription>Calls, bytes and upstream time per team (first IdP group) and tool</CardDescription>
          <CardAction>
            <a href={`/api/v1/dashboards/cost-attribution${toQuery({ ...params, format: "csv" })}`} className={buttonVariants({ variant: "outline", size: "sm" })} download>
              <Download aria-hidden />
              Export CSV
            </a>
          </CardAction>
        </CardHeader>
        <CardContent>
          {!cost || cost.length === 0 ? (
            <Empty what="No forwarded tool calls in this range to attribute." />
          ) : (
            <Table aria-label="Cost attribution">
              <TableHeader>
                <TableRow>
                  <TableHead>Team</TableHead>
                  <TableHead>Tool</TableHead>
                  <TableHead className="text-right">Calls</TableHead>
                  <TableHead className="text-right">Bytes</TableHead>
                  <TableHead className="text-right">Upstream time</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {cost.slice(0, 20).map((r) => (
                  <TableRow key={`${r.team}|${r.tool}`}>
                    <TableCell>{r.team}</TableCell>
                    <TableCell className="font-mono text-xs">{r.tool}</TableCell>
                    <TableCell className="text-right tabular-nums">{r.calls.toLocaleString("en")}</TableCell>
                    <TableCell className="text-right tabular-nums">{formatBytes(r.bytes)}</TableCell>
                    <TableCell className="text-right tabular-nums">{(r.latencyMs / 1000).toFixed(1)} s</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </CardContent>
      </Card>
    </section>
  );
}


function formatDuration(seconds: number | null): string {
  if (seconds === null) return "—";
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Step-up requests over the range, how often and how fast they are decided, and what is elevated now. */
function StepUpCard({ stepUp, range, auditHref }: { stepUp: Dashboards["stepUp"]; range: string; auditHref: (filter: AuditLinkFilter) => string }) {
  const activeTotal = stepUp.activeGrants.reduce((a, g) => a + g.count, 0);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Step-up</CardTitle>
        <CardDescription>Requests for elevated access, their decisions, and the grants active now</CardDescription>
        <ChartLink href={auditHref({ kind: "stepup.requested" })} label="Open in audit log" />
      </CardHeader>
      <CardContent className="space-y-4">
        <dl className="grid grid-cols-2 gap-3 text-sm sm:grid-cols-4" aria-label="Step-up figures">
          <Figure label="Requests" value={stepUp.total.toLocaleString("en")} href={auditHref({ kind: "stepup.requested" })} />
          <Figure label="Approval rate" value={stepUp.approvalRate === null ? "—" : `${Math.round(stepUp.approvalRate * 100)}%`} href={auditHref({ kind: "stepup.approved" })} />
          <Figure label="Time to decision (p50 / p95)" value={`${formatDuration(stepUp.decisionSeconds.p50)} / ${formatDuration(stepUp.decisionSeconds.p95)}`} href={auditHref({ q: "stepup." })} />
          <Figure
            label="Active grants"
            value={activeTotal === 0 ? "0" : `${activeTotal} (${stepUp.activeGrants.map((g) => `${g.count} ${g.riskClass}`).join(", ")})`}
            href="/approvals"
          />
        </dl>
        {stepUp.total === 0 ? (
          <Empty what="No step-up requests in this range. When someone asks for elevated access, their requests appear here by outcome, with how fast approvers decide." />
        ) : (
          <div className="h-48" data-testid="stepup-chart">
            <ResponsiveContainer width="100%" height="100%">
              <BarChart data={stepUp.requests}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis {...timeAxisProps(stepUp.requests, range)} />
                <YAxis allowDecimals={false} width={32} fontSize={12} />
                <Tooltip labelFormatter={(v) => formatTime(String(v))} />
                <Legend />
                {(Object.keys(STEPUP_COLORS) as (keyof typeof STEPUP_COLORS)[]).map((k) => (
                  <Bar key={k} dataKey={k} name={k} stackId="stepup" fill={STEPUP_COLORS[k]} isAnimationActive={false} />
                ))}
              </BarChart>
            </ResponsiveContainer>
          </div>
        )}
      </CardContent>
    </Card>
  );
}

function Figure({ label, value, href }: { label: string; value: string; href: string }) {
  return (
    <div>
      <dt className="text-xs text-muted-foreground">{label}</dt>
      <dd className="font-medium tabular-nums">
        <Link href={href} className="hover:underline">
          {value}
        </Link>
      </dd>
    </div>
  );
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function BarRow({ label, value, max, href, tone }: { label: string; value: number; max: number; href: string; tone?: "destructive" }) {
  return (
    <li>
      <Link href={href} className="group block">
        <div className="flex justify-between gap-2">
          <span className="truncate group-hover:underline">{label}</span>
          <span className="tabular-nums text-muted-foreground">{value.toLocaleString("en")}</span>
        </div>
        <div className="mt-0.5 h-1.5 rounded bg-muted">
          <div className={tone === "destructive" ? "h-1.5 rounded bg-destructive" : "h-1.5 rounded bg-primary"} style={{ width: `${Math.max(2, (value / Math.max(1, max)) * 100)}%` }} />
        </div>
      </Link>
    </li>
  );
}
