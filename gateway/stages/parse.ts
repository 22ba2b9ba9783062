import type { IncomingMessage } from "node:http";

import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";

import { exceedsJsonDepth, isJsonContentType, isJsonRpcMessage, MAX_JSON_DEPTH, readBody, type JsonRpcMessage } from "../http-util";

/**
 * Stage 3, parse (POST only): the body read once, within the size cap while it arrives, parsed
 * once, and shape-checked as JSON-RPC 2.0. Nothing later parses it again. Per-method params are
 * checked where they are used (resolve), not here.
 */

export type Parsed =
  | { ok: true; body: unknown; messages: JsonRpcMessage[]; bytes: number; isBatch: boolean }
  | { ok: false; status: number; code: number; message: string; reason: string; aborted?: boolean; bytes?: number };

/** JSON-RPC batches beyond this are refused: one POST should not fan out into unbounded work. */
export const MAX_BATCH = 100;

export function createParse(options: { maxBodyBytes: number }) {
  return async (req: IncomingMessage): Promise<Parsed> => {
    if (!isJsonContentType(header(req, "content-type"))) {
      return { ok: false, status: 415, code: -32000, message: "Unsupported Media Type: Content-Type must be application/json.", reason: "wrong content type" };
    }
    const accept = header(req, "accept") ?? "";
    if (!accept.includes("application/json") || !accept.includes("text/event-stream")) {
      return { ok: false, status: 406, code: -32000, message: "Not Acceptable: the client must accept both application/json and text/event-stream.", reason: "wrong accept header" };
    }
    const body = await readBody(req, options.maxBodyBytes);
    if (!body.ok) {
      if (body.reason === "aborted") return { ok: false, status: 400, code: -32000, message: "The request was aborted.", reason: "aborted", aborted: true };
      return { ok: false, status: 413, code: -32000, message: `Payload Too Large: request bodies are limited to ${options.maxBodyBytes} bytes.`, reason: "body too large" };
    }
    // Checked before parsing: a body nested 100k levels deep holds JSON.parse for tens of
    // milliseconds, and what parses would overflow the stack of every recursive walk after it.
    if (exceedsJsonDepth(body.text)) {
      return { ok: false, status: 400, code: ErrorCode.ParseError, message: `Parse error: JSON nested deeper than ${MAX_JSON_DEPTH} levels.`, reason: "JSON nested too deep", bytes: body.bytes };
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.text);
    } catch {
      return { ok: false, status: 400, code: ErrorCode.ParseError, message: "Parse error: the body is not valid JSON.", reason: "malformed JSON", bytes: body.bytes };
    }
    const isBatch = Array.isArray(parsed);
    const list: unknown[] = isBatch ? (parsed as unknown[]) : [parsed];
    if (list.length === 0 || list.length > MAX_BATCH || !list.every(isJsonRpcMessage)) {
      return { ok: false, status: 400, code: ErrorCode.InvalidRequest, message: "Invalid Request: the body is not a JSON-RPC 2.0 message.", reason: "not JSON-RPC", bytes: body.bytes };
    }
    return { ok: true, body: parsed, messages: list as JsonRpcMessage[], bytes: body.bytes, isBatch };
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
