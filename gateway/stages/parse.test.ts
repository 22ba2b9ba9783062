import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";

import { ErrorCode } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";

import { createParse } from "./parse";

const parse = createParse({ maxBodyBytes: 1024 });
const JSON_HEADERS = { "content-type": "application/json", accept: "application/json, text/event-stream" };

/** A request body as node:http delivers it: a readable stream with headers, in chunks. */
function request(body: string, headers: Record<string, string> = JSON_HEADERS): IncomingMessage {
  const chunks = body.match(/[\s\S]{1,100}/g) ?? [];
  return Object.assign(Readable.from(chunks.map((c) => Buffer.from(c))), { headers }) as unknown as IncomingMessage;
}

const call = (id: number) => ({ jsonrpc: "2.0", id, method: "tools/call", params: { name: "a_read" } });

describe("parse", () => {
  it.each([
    ["one request", JSON.stringify(call(1)), JSON_HEADERS, true, undefined],
    ["a batch", JSON.stringify([call(1), call(2)]), JSON_HEADERS, true, undefined],
    ["a client's response to a server request", JSON.stringify({ jsonrpc: "2.0", id: 3, result: {} }), JSON_HEADERS, true, undefined],
    ["text/plain", JSON.stringify(call(1)), { ...JSON_HEADERS, "content-type": "text/plain" }, false, 415],
    ["no event-stream in Accept", JSON.stringify(call(1)), { ...JSON_HEADERS, accept: "application/json" }, false, 406],
    ["a body over the cap", JSON.stringify({ ...call(1), params: { name: "x".repeat(10_000) } }), JSON_HEADERS, false, 413],
    ["truncated JSON", '{"jsonrpc":"2.0","id":1,', JSON_HEADERS, false, 400],
    ["JSON that is not JSON-RPC", '{"hello":"world"}', JSON_HEADERS, false, 400],
    ["a null id", '{"jsonrpc":"2.0","id":null,"method":"tools/list"}', JSON_HEADERS, false, 400],
    ["an empty batch", "[]", JSON_HEADERS, false, 400],
    ["a batch of 101", `[${Array(101).fill('{"jsonrpc":"2.0","method":"m"}').join(",")}]`, JSON_HEADERS, false, 400],
  ])("%s", async (_name, body, headers, ok, status) => {
    const parsed = await createParse({ maxBodyBytes: 8192 })(request(body, headers as Record<string, string>));
    expect(parsed.ok).toBe(ok);
    if (status) expect(parsed).toMatchObject({ status });
  });

  it("reads once and hands on the parsed messages with the body's size", async () => {
    const body = JSON.stringify(call(7));
    const parsed = await parse(request(body));
    expect(parsed).toMatchObject({ ok: true, isBatch: false, bytes: Buffer.byteLength(body), messages: [{ id: 7, method: "tools/call" }] });
  });

  it("answers malformed JSON with the JSON-RPC parse error code", async () => {
    expect(await parse(request("{nope"))).toMatchObject({ ok: false, status: 400, code: ErrorCode.ParseError });
  });

  it("refuses by the declared length before reading a byte", async () => {
    const req = request("{}", { ...JSON_HEADERS, "content-length": "5000" });
    expect(await parse(req)).toMatchObject({ ok: false, status: 413 });
  });
});
