import { performance } from "node:perf_hooks";

import type { TokenIdentity } from "../auth";
import { capPayload, mcpRequestEvent, type EmitAuditEvent } from "../audit";
import type { Call, RequestContext } from "../exchange";
import { describeError, log } from "../log";
import { methodLabel, type GatewayMetrics } from "../metrics";

/**
 * Stage 7, audit: one `mcp.request` event per request, allowed or not, built from what the
 * request already holds, handed to the spool (disk first, then the control plane) once its
 * response is known. It always runs, whichever stage ended the request; it runs once per call.
 */

export type Response = { error?: { code: number; message: string }; bytes: number; httpStatus?: number };

const round3 = (ms: number) => Math.round(ms * 1000) / 1000;

export function createAudit(deps: { emit: EmitAuditEvent; metrics: GatewayMetrics; gatewayName?: string }) {
  const { metrics } = deps;

  function emit(build: () => ReturnType<typeof mcpRequestEvent>, requestId: string) {
    try {
      deps.emit(build());
    } catch (error) {
      log("error", "audit emit failed", { requestId, ...describeError(error) });
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
    emit(() => {
      const args = capPayload(call.arguments);
      const result = capPayload(call.result);
      return mcpRequestEvent({
        time: ctx.receivedAt,
        identity: caller.identity,
        portal: caller.portalSlug,
        server: call.server,
        tool: call.target,
        action: call.method,
        outcome: call.outcome,
        reasons: call.reasons,
        sourceIp: ctx.sourceIp,
        requestId: ctx.requestId,
        data: {
          ...(deps.gatewayName ? { gateway: deps.gatewayName } : {}),
          clientName: caller.clientName,
          clientVersion: caller.clientVersion,
          sessionId: caller.id || null,
          protocolVersion: caller.protocolVersion,
          exposedName: call.exposedName,
          ...(call.elevation?.grantId && call.outcome === "allow" ? { grantId: call.elevation.grantId } : {}),
          ...(call.roles ? { roles: call.roles } : {}),
          ...(call.traceId ? { traceId: call.traceId } : {}),
          ...(response?.httpStatus !== undefined ? { httpStatus: response.httpStatus } : {}),
          latencyMs: round3(latencyMs),
          requestBytes: ctx.requestBytes,
          responseBytes: response?.bytes ?? 0,
          upstreamOutcome,
          ...(call.dlp?.length ? { dlp: call.dlp } : {}),
          ...(call.upstreamMs !== undefined ? { upstreamLatencyMs: round3(call.upstreamMs) } : {}),
          ...(args.value !== undefined ? { arguments: args.value, argumentsTruncated: args.truncated || undefined } : {}),
          ...(result.value !== undefined ? { result: result.value, resultTruncated: result.truncated || undefined } : {}),
        },
      });
    }, ctx.requestId);
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
            ...(deps.gatewayName ? { gateway: deps.gatewayName } : {}),
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
