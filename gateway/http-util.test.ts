import { describe, expect, it } from "vitest";

import { exceedsJsonDepth, isJsonContentType, isJsonRpcMessage, MAX_JSON_DEPTH } from "./http-util";
import { capPayload } from "./audit";
import { methodLabel } from "./metrics";

describe("isJsonRpcMessage", () => {
  it.each([
    [{ jsonrpc: "2.0", id: 1, method: "tools/list" }, true],
    [{ jsonrpc: "2.0", method: "notifications/initialized" }, true],
    [{ jsonrpc: "2.0", id: "a", result: {} }, true],
    [{ jsonrpc: "2.0", id: 1, error: { code: 1, message: "x" } }, true],
    [{ jsonrpc: "1.0", id: 1, method: "x" }, false],
    [{ jsonrpc: "2.0", id: null, method: "x" }, false],
    [{ jsonrpc: "2.0", id: 1, method: "" }, false],
    [{ jsonrpc: "2.0", id: 1, method: "x", params: "str" }, false],
    [{ jsonrpc: "2.0", id: 1 }, false],
    [{ jsonrpc: "2.0", id: 1, result: {}, error: {} }, false],
    [[], false],
    [null, false],
  ])("%j → %s", (message, expected) => {
    expect(isJsonRpcMessage(message)).toBe(expected);
  });
});

describe("isJsonContentType", () => {
  it("accepts parameters and case, refuses other types", () => {
    expect(isJsonContentType("Application/JSON; charset=utf-8")).toBe(true);
    expect(isJsonContentType("text/plain")).toBe(false);
    expect(isJsonContentType(undefined)).toBe(false);
  });
});

describe("capPayload", () => {
  it("keeps small payloads structured and truncates large ones to 8 KiB of JSON, marked with their size", () => {
    expect(capPayload({ a: 1 })).toEqual({ value: { a: 1 }, bytes: 7, truncated: false });
    const big = capPayload({ blob: "x".repeat(20_000) });
    expect(big.truncated).toBe(true);
    expect(big.value).toMatchObject({ $truncated: { bytes: 20_011 } });
    expect(Buffer.byteLength(JSON.stringify(big.value))).toBeLessThanOrEqual(8 * 1024);
  });
});

describe("methodLabel", () => {
  it("keeps metric labels bounded", () => {
    expect(methodLabel("tools/call")).toBe("tools/call");
    expect(methodLabel("notifications/cancelled")).toBe("notification");
    expect(methodLabel("x".repeat(100))).toBe("other");
  });
});

describe("exceedsJsonDepth", () => {
  const nested = (levels: number) => `${'{"a":['.repeat(levels / 2)}1${"]}".repeat(levels / 2)}`;

  it("lets messages as deep as the limit through and refuses one level more", () => {
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(exceedsJsonDepth(nested(MAX_JSON_DEPTH + 2))).toBe(true);
    expect(exceedsJsonDepth("[".repeat(100_000))).toBe(true);
  });

  it("counts brackets inside strings, escaped quotes included, as text", () => {
    const text = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tools/call", params: { name: "x", arguments: { q: `\\"${"[{".repeat(500)}` } } });
    expect(exceedsJsonDepth(text)).toBe(false);
    expect(exceedsJsonDepth(`["\\\\", ${"[".repeat(70)}]`)).toBe(true);
  });
});
