"use client";

import Link from "next/link";
import { useQuery } from "@tanstack/react-query";

import { api, toQuery } from "@/lib/api/client";
import { auditKeys } from "@/lib/api/query-keys";
import type { AuditEventView } from "@/lib/schemas/audit";
import { Badge } from "@/components/ui/badge";
import { CodeBlock } from "@/components/ui/code-block";
import { Dialog } from "@/components/ui/dialog";
import { LocalTime } from "@/components/ui/local-time";
import { RelativeTime } from "@/components/ui/relative-time";
import { ChangeDiff } from "@/components/audit/change-diff";
import { actorLabel, changeValues, kindLabel, outcomeVariant } from "@/components/audit/audit-format";

function Row({ label, children }: { label: string; children: React.ReactNode }) {
  if (children === null || children === undefined || children === "") return null;
  return (
    <>
      <dt className="text-muted-foreground">{label}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </>
  );
}

const mono = (value: string | null) => (value ? <span className="font-mono text-xs">{value}</span> : null);

const str = (value: unknown) => (typeof value === "string" && value ? value : null);
const num = (value: unknown) => (typeof value === "number" ? value : null);

/** A link to the explorer narrowed to one field's value: "the other events of this session". */
function Related({ param, value, children, onNavigate }: { param: string; value: string | null; children: React.ReactNode; onNavigate: () => void }) {
  if (!value) return null;
  return (
    <Link onClick={onNavigate} className="text-primary underline-offset-4 hover:underline" href={`/audit${toQuery({ [param]: value })}`}>
      {children}
    </Link>
  );
}

type Detail = { configVersion: number | null };

export function AuditEventDialog({ event, onOpenChange }: { event: AuditEventView; onOpenChange: (open: boolean) => void }) {
  const change = event.kind === "config.change" ? changeValues(event) : null;
  const hasOtherData = !change && event.data !== null && event.data !== undefined;
  const detail = useQuery({ queryKey: auditKeys.detail(event.id), queryFn: () => api<Detail>("GET", `/audit-events/${encodeURIComponent(event.id)}`) });
  const data = (event.data ?? {}) as Record<string, unknown>;
  const sessionId = str(data.sessionId);
  const grantId = str(data.grantId);
  const dlp = Array.isArray(data.dlp) ? (data.dlp as Array<{ detector: string; field: string; count: number }>) : [];
  const bytes = [num(data.requestBytes) !== null ? `${num(data.requestBytes)} B in` : null, num(data.responseBytes) !== null ? `${num(data.responseBytes)} B out` : null].filter(Boolean).join(", ");
  const latency = [num(data.latencyMs) !== null ? `${num(data.latencyMs)} ms total` : null, num(data.upstreamLatencyMs) !== null ? `${num(data.upstreamLatencyMs)} ms upstream` : null].filter(Boolean).join(", ");
  return (
    <Dialog
      open
      onOpenChange={onOpenChange}
      title={`${kindLabel(event.kind)}: ${event.action}`}
      description={<LocalTime value={event.time} />}
      className="max-w-4xl"
    >
      <div className="grid max-h-[70vh] gap-5 overflow-y-auto pr-1">
        <dl className="grid grid-cols-[9rem_minmax(0,1fr)] gap-x-4 gap-y-2 text-sm">
          <Row label="Time">
            <RelativeTime value={event.time} /> <span className="text-muted-foreground">({event.time})</span>
          </Row>
          <Row label="Outcome">
            <Badge variant={outcomeVariant(event.outcome)}>{event.outcome}</Badge>
          </Row>
          <Row label="Kind">{mono(event.kind)}</Row>
          <Row label="Action">{mono(event.action)}</Row>
          <Row label="Actor">
            {actorLabel(event)} <span className="text-muted-foreground">({event.actorType})</span>
          </Row>
          <Row label="Actor id">{mono(event.actorId)}</Row>
          <Row label="Target">
            {event.targetType || event.targetId ? (
              <>
                {event.targetType} {mono(event.targetId)}
              </>
            ) : null}
          </Row>
          <Row label="Portal">{event.portal}</Row>
          <Row label="Server">{event.server}</Row>
          <Row label="Tool">{mono(event.tool)}</Row>
          <Row label="Reasons">
            {event.reasons?.length ? (
              <ul className="list-disc pl-4">
                {event.reasons.map((r, i) => (
                  <li key={i}>{r}</li>
                ))}
              </ul>
            ) : null}
          </Row>
          <Row label="Source IP">{mono(event.sourceIp)}</Row>
          <Row label="Request id">{mono(event.requestId)}</Row>
          <Row label="Session">{mono(sessionId)}</Row>
          <Row label="Upstream">{mono(str(data.upstreamOutcome))}</Row>
          <Row label="Sizes">{bytes || null}</Row>
          <Row label="Latency">{latency || null}</Row>
          <Row label="Step-up grant">{mono(grantId)}</Row>
          <Row label="DLP">
            {dlp.length ? (
              <ul className="list-disc pl-4">
                {dlp.map((d, i) => (
                  <li key={i}>
                    {d.detector} in {d.field} ({d.count})
                  </li>
                ))}
              </ul>
            ) : null}
          </Row>
          <Row label="Config version">{detail.data?.configVersion != null ? `v${detail.data.configVersion} (in force at this time)` : null}</Row>
          <TraceRow data={event.data} />
          <Row label="Sequence">{mono(event.seq)}</Row>
          <Row label="Event id">{mono(event.id)}</Row>
        </dl>
        {sessionId || event.requestId || grantId ? (
          <nav aria-label="Related events" className="flex flex-wrap gap-4 text-sm">
            <Related onNavigate={() => onOpenChange(false)} param="session" value={sessionId}>
              Same session
            </Related>
            <Related onNavigate={() => onOpenChange(false)} param="requestId" value={event.requestId}>
              Same request id
            </Related>
            <Related onNavigate={() => onOpenChange(false)} param="grant" value={grantId}>
              Same step-up grant
            </Related>
          </nav>
        ) : null}
        {event.payloadsHidden ? <p className="text-sm text-muted-foreground">Arguments and results are hidden for your role.</p> : null}
        {change ? (
          <section className="grid gap-2">
            <h3 className="text-sm font-semibold">Change</h3>
            <ChangeDiff before={change.before} after={change.after} />
          </section>
        ) : null}
        {hasOtherData ? (
          <section className="grid gap-2">
            <h3 className="text-sm font-semibold">Data</h3>
            <CodeBlock code={JSON.stringify(event.data, null, 2)} title="json" wrap />
          </section>
        ) : null}
      </div>
    </Dialog>
  );
}

// e.g. https://jaeger.example.com/trace/{traceId}: set at build time to link the gateway's traces.
const TRACE_URL = process.env.NEXT_PUBLIC_PORTICO_TRACE_URL;

/** The OpenTelemetry trace of an MCP request, when the gateway exported one (data.traceId). */
function TraceRow({ data }: { data: unknown }) {
  const traceId = data && typeof data === "object" && "traceId" in data && typeof data.traceId === "string" && /^[0-9a-f]{32}$/.test(data.traceId) ? data.traceId : null;
  if (!traceId) return null;
  return (
    <Row label="Trace">
      {TRACE_URL ? (
        <a className="font-mono text-xs underline" href={TRACE_URL.replace("{traceId}", traceId)} target="_blank" rel="noreferrer">
          {traceId}
        </a>
      ) : (
        mono(traceId)
      )}
    </Row>
  );
}
