import { performance } from "node:perf_hooks";

import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";

import type { Answer } from "../answer";

import type { createCatalog } from "../catalog";
import { toolEnding, type Call } from "../exchange";
import type { GatewayMetrics } from "../metrics";
import { upstreamFailure } from "../upstream-failure";
import type { UpstreamPool } from "../upstreams";
import type { VisibleTools } from "../visible-tools";
import { toolUnavailable } from "./resolve";

/**
 * Stage 6, forward: the call goes to the upstream that owns it (tools/call, prompts, resources),
 * or is answered from the running config (tools/list). A tool that cannot run is a tool result,
 * so the model sees why; a cancelled call stays a JSON-RPC error.
 */

export type ForwardDeps = {
  upstreams: UpstreamPool;
  visibleTools: VisibleTools;
  catalog: ReturnType<typeof createCatalog>;
  metrics: GatewayMetrics;
  upstreamTimeoutMs?: number;
};

/** Sends a notification to the caller, where its framing can (a legacy session's stream). */
export type Notify = (method: string, params: Record<string, unknown>) => void;

export function createForward(deps: ForwardDeps) {
  async function callTool(call: Call, signal: AbortSignal, notify: Notify | undefined): Promise<Answer> {
    const tool = call.tool!;
    const spec = call.portal!.servers.get(tool.serverSlug);
    if (!spec) return { ending: toolUnavailable(tool.exposedName) };
    const progressToken = call.progressToken;
    const onprogress =
      progressToken === undefined || !notify ? undefined : (progress: Progress) => notify("notifications/progress", { progressToken, ...progress });
    const started = performance.now();
    try {
      const args = call.arguments as Record<string, unknown> | undefined;
      // Only 2026-07-28 callers have it; the legacy hot path pays no extra await.
      const forwardModern = call.channel?.forwardModern;
      const modern = forwardModern ? await forwardModern(spec, "tools/call", { name: tool.upstreamName, ...(args !== undefined ? { arguments: args } : {}) }, signal) : null;
      const result = (modern as CallToolResult | null | undefined) ?? await deps.upstreams.callTool(spec, tool.upstreamName, args, {
        signal,
        timeoutMs: deps.upstreamTimeoutMs,
        onprogress,
        onnotify: call.channel?.notify,
        relay: call.channel?.relay(spec),
      });
      call.upstreamMs = performance.now() - started;
      call.upstreamOutcome = result.isError ? "tool_error" : "success";
      call.result = result;
      return { result };
    } catch (error) {
      const failure = upstreamFailure(call, error, deps.metrics);
      return { ending: call.upstreamOutcome === "cancelled" ? failure : toolEnding(failure.message) };
    }
  }

  function listTools(call: Call): Answer {
    const view = deps.visibleTools.of(call.state!, call.portal!, call.caller.identity, call.ctx.sourceIp);
    call.caller.listedTools = view.stamp;
    call.result = { toolCount: view.tools.length };
    return { result: { tools: view.definitions } };
  }

  return (call: Call, signal: AbortSignal, notify?: Notify): Promise<Answer> | Answer => {
    switch (call.method) {
      case "tools/call":
        return callTool(call, signal, notify);
      case "tools/list":
        return listTools(call);
      default:
        return deps.catalog[call.method as keyof typeof deps.catalog](call, signal);
    }
  };
}
