import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { rpcEnding, type Call, type Ending } from "./exchange";
import { describeError, log } from "./log";
import type { GatewayMetrics } from "./metrics";
import { UpstreamError } from "./upstreams";

/** An upstream's failure as the client sees it: a fixed public message, never the upstream's internals. */
export function upstreamFailure(call: Call, error: unknown, metrics: GatewayMetrics): Ending & { kind: "rpc_error" } {
  if (error instanceof UpstreamError) {
    call.upstreamOutcome = error.kind;
    metrics.upstreamErrors.inc({ server: error.server, kind: error.kind });
    return rpcEnding(error.kind === "rejected" ? ErrorCode.InvalidParams : ErrorCode.InternalError, error.publicMessage) as Ending & { kind: "rpc_error" };
  }
  call.upstreamOutcome = "failed";
  log("error", "unexpected upstream failure", { requestId: call.ctx.requestId, ...describeError(error) });
  return rpcEnding(ErrorCode.InternalError, "The gateway could not complete the request.") as Ending & { kind: "rpc_error" };
}
