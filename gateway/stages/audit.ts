import { performance } from "node:perf_hooks";

import type { TokenIdentity } from "../auth";
import { auditPayload, mcpRequestEvent, type EmitAuditEvent } from "../audit";
import type { Call, RequestContext } from "../exchange";
import { describeError, log } from "../log";
import { methodLabel, type GatewayMetrics } from "../metrics";

/**
 * Stage 7, audit: one `mcp.request` event per request, allowed or not, built from what the
 * request already holds, handed to the spool (disk first, then the control plane) once its
 * response is known. It always runs, whichever stage ended the request; it runs once per call.
 *
 * Off the response path: `finish` runs once the response is written, and only counts the call
 * and notes what the event needs; building, sanitizing and serializing the events and writing
 * them to the spool happen for all the calls answered in one turn of the event loop together
 * (setImmediate), with one write(2) when the spool takes batches. So the spool holds a call's
 * event within the same turn of the event loop in which its response was written, as before
 * (then it was within the same tick): a SIGKILL landing in between loses it, as it could lose one
 * between the response and the write before. `flush` (the pipeline's close) and process exit
 * (an uncaught exception) write what is pending synchronously.
 */

export type Response = { error?: { code: number; message: string }; bytes: number; httpStatus?: number };

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/**
 * What a call's event needs, read when the call is finished: a cancelled call's forward may still
 * set its result or outcome afterwards, and the event must say what was true when it ended.
 */
type Pending = {
  call: Call;
  response: Response | null;
  latencyMs: number;
  upstreamOutcome: string;
  server: Call["server"];
  target: Call["target"];
  outcome: Call["outcome"];
  reasons: string[];
  exposedName: Call["exposedName"];
  arguments: unknown;
  result: unknown;
  dlp: Call["dlp"];
  upstreamMs: number | undefined;
  grantId: string | null | undefined;
  traceId: Call["traceId"];
  roles: Call["roles"];
};

// Every audit stage with events pending, written at process exit (an uncaught exception) if their turn never came.
const live = new Set<() => void>();
let exitHooked = false;
function onExit(flush: () => void) {
  if (!exitHooked) {
    exitHooked = true;
    process.once("exit", () => {
      for (const f of live) f();
    });
  }
  live.add(flush);
}

export type AuditDeps = {
  emit: EmitAuditEvent;
  /** Writes many events at once (the spool: one write(2)); without it, `emit` is called per event. */
  emitBatch?: (events: ReturnType<typeof mcpRequestEvent>[]) => void;
  metrics: GatewayMetrics;
  gatewayName?: string;
  /** Build and write events after the turn of the event loop that finished them (the pipeline); else at once. */
  defer?: boolean;
};

export function createAudit(deps: AuditDeps) {
  const { metrics } = deps;
  const gateway = deps.gatewayName ? { gateway: deps.gatewayName } : {};
  let pending: Pending[] = [];
  let scheduled = false;

  function emit(build: () => ReturnType<typeof mcpRequestEvent>, requestId: string) {
    try {
      deps.emit(build());
    } catch (error) {
      log("error", "audit emit failed", { requestId, ...describeError(error) });
    }
  }

  function eventOf(p: Pending) {
    const { caller, ctx } = p.call;
    const { response } = p;
    const args = auditPayload(p.arguments);
    const result = auditPayload(p.result);
    const data: Record<string, unknown> = {
      ...gateway,
      clientName: caller.clientName,
      clientVersion: caller.clientVersion,
      sessionId: caller.id || null,
      protocolVersion: caller.protocolVersion,
      exposedName: p.exposedName,
      latencyMs: round3(p.latencyMs),
      requestBytes: ctx.requestBytes,
      responseBytes: response?.bytes ?? 0,
      upstreamOutcome: p.upstreamOutcome,
    };
    if (p.grantId) data.grantId = p.grantId;
    if (p.roles) data.roles = p.roles;
    if (p.traceId) data.traceId = p.traceId;
    if (response?.httpStatus !== undefined) data.httpStatus = response.httpStatus;
    if (p.dlp?.length) data.dlp = p.dlp;
    if (p.upstreamMs !== undefined) data.upstreamLatencyMs = round3(p.upstreamMs);
    return mcpRequestEvent({
      time: ctx.receivedAt,
      identity: caller.identity,
      portal: caller.portalSlug,
      server: p.server,
      tool: p.target,
      action: p.call.method,
      outcome: p.outcome,
      reasons: p.reasons,
      sourceIp: ctx.sourceIp,
      requestId: ctx.requestId,
      data,
      payloads: { arguments: args, result },
    });
  }

  function flushOne(p: Pending) {
    emit(() => eventOf(p), p.call.ctx.requestId);
  }

  /** Builds and writes every pending event; synchronous, so it also serves at close and exit. */
  function flush(): void {
    scheduled = false;
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    if (!deps.emitBatch) {
      for (const p of batch) flushOne(p);
      return;
    }
    const events: ReturnType<typeof mcpRequestEvent>[] = [];
    for (const p of batch) {
      try {
        events.push(eventOf(p));
      } catch (error) {
        log("error", "audit emit failed", { requestId: p.call.ctx.requestId, ...describeError(error) });
      }
    }
    try {
      deps.emitBatch(events);
    } catch (error) {
      log("error", "audit emit failed", { events: events.length, ...describeError(error) });
    }
  }

  /** A call's event; `response` null when it never got one (cancelled, session closed). */
  function finish(call: Call, response: Response | null): void {
    if (call.finalized) return;
    call.finalized = true;
    const { caller, ctx } = call;
    const latencyMs = performance.now() - ctx.startedAt;
    const upstreamOutcome = call.upstreamOutcome ?? (response?.error ? "error" : response ? "none" : "cancelled");
    if (response?.error && call.outcome === "allow" && call.reasons.length === 0) call.reasons.push(response.error.message);
    const method = methodLabel(call.method);
    metrics.countRequest(caller.portalSlug, method, call.outcome === "deny" ? "deny" : response?.error ? "error" : "allow");
    metrics.observeLatency(caller.portalSlug, method, latencyMs / 1000);
    const p: Pending = {
      call,
      response,
      latencyMs,
      upstreamOutcome,
      server: call.server,
      target: call.target,
      outcome: call.outcome,
      reasons: deps.defer ? call.reasons.slice() : call.reasons,
      exposedName: call.exposedName,
      arguments: call.arguments,
      result: call.result,
      dlp: deps.defer && call.dlp ? call.dlp.slice() : call.dlp,
      upstreamMs: call.upstreamMs,
      grantId: call.outcome === "allow" ? call.elevation?.grantId : undefined,
      traceId: call.traceId,
      roles: call.roles,
    };
    if (!deps.defer) return flushOne(p);
    pending.push(p);
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  }

  /** A request refused before it became a call (token, size, shape, session): denials are what auditors look for. */
  function refusal(fields: {
    ctx: RequestContext;
    portal: string;
    identity: TokenIdentity | null;
    method: string;
    reasons: string[];
    status: number;
    sessionId?: string | null;
    responseBytes: number;
  }): void {
    metrics.countRequest(fields.portal, methodLabel(fields.method), "deny");
    emit(
      () =>
        mcpRequestEvent({
          time: fields.ctx.receivedAt,
          identity: fields.identity,
          portal: fields.portal,
          action: fields.method,
          outcome: "deny",
          reasons: fields.reasons,
          sourceIp: fields.ctx.sourceIp,
          requestId: fields.ctx.requestId,
          data: {
            ...gateway,
            sessionId: fields.sessionId ?? null,
            httpStatus: fields.status,
            latencyMs: round3(performance.now() - fields.ctx.startedAt),
            requestBytes: fields.ctx.requestBytes,
            responseBytes: fields.responseBytes,
            upstreamOutcome: "not_called",
          },
        }),
      fields.ctx.requestId,
    );
  }

  if (deps.defer) onExit(flush);
  return {
    finish,
    refusal,
    flush,
    /** Writes what is pending and lets go of the exit hook (the pipeline closed). */
    close() {
      flush();
      live.delete(flush);
    },
  };
}

export type Audit = ReturnType<typeof createAudit>;
