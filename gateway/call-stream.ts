import type { IncomingMessage, ServerResponse } from "node:http";

import { jsonRpcReply, writeAnswer, type Answer } from "./answer";
import type { Response } from "./stages/audit";

/**
 * The answer to one POSTed request, as one JSON body until something must go to the client before
 * it (progress, a log message, a relayed request): then the response turns into an SSE stream,
 * those messages go on it in the order they came, and the answer ends it. A call that sends
 * nothing back on the way costs what it did before: one JSON body.
 */
export type CallStream = {
  /** Sends a message ahead of the answer; false when the client cannot take a stream (it did not accept one) or the answer has gone. */
  write(message: Record<string, unknown>): boolean;
  /** Writes the answer: the last event of the stream, or the JSON body. */
  end(id: string | number, answer: Answer, shape?: (result: Record<string, unknown>) => Record<string, unknown>): Response;
};

export function acceptsEventStream(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  return typeof accept === "string" && accept.includes("text/event-stream");
}

export function createCallStream(res: ServerResponse, canStream: boolean, headers: Record<string, string>): CallStream {
  let isStreaming = false;
  let isEnded = false;
  return {
    write(message) {
      if (!canStream || isEnded || res.destroyed) return false;
      if (!isStreaming) {
        isStreaming = true;
        res.writeHead(200, { ...headers, "content-type": "text/event-stream", "cache-control": "no-cache, no-transform", connection: "keep-alive" });
        res.flushHeaders();
      }
      res.write(`event: message\ndata: ${JSON.stringify(message)}\n\n`);
      return true;
    },
    end(id, answer, shape) {
      isEnded = true;
      if (!isStreaming) return writeAnswer(res, id, answer, { headers, shape });
      // On a stream the status is already 200: an HTTP ending degrades to its JSON-RPC fallback.
      const reply = jsonRpcReply(answer);
      if ("result" in reply && shape) reply.result = shape(reply.result as Record<string, unknown>);
      const chunk = `event: message\ndata: ${JSON.stringify({ jsonrpc: "2.0", id, ...reply })}\n\n`;
      res.end(chunk);
      return { error: "error" in reply ? reply.error : undefined, bytes: Buffer.byteLength(chunk) };
    },
  };
}
