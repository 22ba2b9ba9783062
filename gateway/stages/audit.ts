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
 * It runs once the response is written, in the same tick (so a call acknowledged to its client
 * is on the spool unless the process dies in between), and walks each payload once: capped and
 * escaped together (`auditPayload`), the rest of the event sanitized without them. Deferring the
 * build and write to a batch after the event loop's turn was tried and dropped: it saved no
 * measurable CPU, and it widened the window in which a SIGKILL loses an acknowledged call's event.
 */

export type Response = { error?: { code: number; message: string }; bytes: number; httpStatus?: number };

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

/** What a call's event is built from, read as the call ends. */
type Ended = {
  call: Call;
  response: Response | null;
  latencyMs: number;
  upstreamOutcome: string;
  server: Call["server"];
  target: Call["target"];
  outcome: Call["outcome"];
  reasons: string[];
  exposedName: Call["exposedName"];
  isUnknownTool: boolean;
  arguments: unknown;
  result: unknown;
  dlp: Call["dlp"];
  upstreamMs: number | undefined;
  grantId: string | null | undefined;
  traceId: Call["traceId"];
  roles: Call["roles"];
};

export type AuditDeps = {
  emit: EmitAuditEvent;
  metrics: GatewayMetrics;
  gatewayName?: string;
};

export function createAudit(deps: AuditDeps) {
  const { metrics } = deps;
  const gateway = deps.gatewayName ? { gateway: deps.gatewayName } : {};

  function emit(build: () => ReturnType<typeof mcpRequestEvent>, requestId: string) {
    try {
      deps.emit(build());
    } catch (error) {
      log("error", "audit emit failed", { requestId, ...describeError(error) });
    }
  }

  function eventOf(p: Ended) {
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
      // An unknown name is kept as what it is, not as a tool's exposed name (gateway/audit.ts: no tool target).
      ...(p.isUnknownTool ? { unknownTool: p.exposedName } : { exposedName: p.exposedName }),
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
    const p: Ended = {
      call,
      response,
      latencyMs,
      upstreamOutcome,
      server: call.server,
      target: call.target,
      outcome: call.outcome,
      reasons: call.reasons,
      exposedName: call.exposedName,
      isUnknownTool: call.isUnknownTool === true,
      arguments: call.arguments,
      result: call.result,
      dlp: call.dlp,
      upstreamMs: call.upstreamMs,
      grantId: call.outcome === "allow" ? call.elevation?.grantId : undefined,
      traceId: call.traceId,
      roles: call.roles,
    };
    emit(() => eventOf(p), ctx.requestId);
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

  return { finish, refusal };
}

export type Audit = ReturnType<typeof createAudit>;
