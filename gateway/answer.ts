import type { ServerResponse } from "node:http";

import { errorResult, type Ending } from "./exchange";
import { sendJsonRpcError } from "./http-util";
import type { Response } from "./stages/audit";

/**
 * How a request's answer goes on the wire when it has its own POST: a result or an ending, as
 * one JSON body. An `http` ending sets the status (the step-up challenge); the others are 200.
 */

export type Answer = { result: Record<string, unknown> } | { ending: Ending };

/** The JSON-RPC body of an answer where no HTTP status can be set (a batch, a stream). */
export function jsonRpcReply(answer: Answer): { result: unknown } | { error: { code: number; message: string; data?: unknown } } {
  if ("result" in answer) return { result: answer.result };
  const { ending } = answer;
  if (ending.kind === "rpc_error") return { error: { code: ending.code, message: ending.message, ...(ending.data !== undefined ? { data: ending.data } : {}) } };
  return { result: errorResult(ending.kind === "tool_error" ? ending.text : ending.fallback.text) };
}

export function writeAnswer(
  res: ServerResponse,
  id: string | number,
  answer: Answer,
  options: { headers?: Record<string, string>; shape?: (result: Record<string, unknown>) => Record<string, unknown> } = {},
): Response {
  if ("ending" in answer && answer.ending.kind === "http") {
    const { ending } = answer;
    const bytes = sendJsonRpcError(res, ending.status, ending.code, ending.message, { id, headers: { ...options.headers, ...ending.headers } });
    return { error: { code: ending.code, message: ending.message }, bytes, httpStatus: ending.status };
  }
  const reply = jsonRpcReply(answer);
  if ("result" in reply && options.shape) reply.result = options.shape(reply.result as Record<string, unknown>);
  const body = JSON.stringify({ jsonrpc: "2.0", id, ...reply });
  const bytes = Buffer.byteLength(body);
  res.writeHead(200, { ...options.headers, "content-type": "application/json", "content-length": bytes });
  res.end(body);
  return { error: "error" in reply ? reply.error : undefined, bytes };
}
