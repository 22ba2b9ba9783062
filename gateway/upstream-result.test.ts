import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { describe, expect, it } from "vitest";

import { isPlainCallToolResult } from "./upstreams";

describe("the hand check of an upstream's tools/call result", () => {
  it.each([
    ["text blocks", { content: [{ type: "text", text: "42" }] }, true],
    ["an error result with structured content", { content: [{ type: "text", text: "no" }], isError: true, structuredContent: { n: 1 } }, true],
    ["no content at all", { content: [] }, true],
    ["an image (its base64 is the schema's to check)", { content: [{ type: "image", data: "aGk=", mimeType: "image/png" }] }, false],
    ["text that is not a string", { content: [{ type: "text", text: 42 }] }, false],
    ["isError that is not a boolean", { content: [], isError: "yes" }, false],
    ["content that is not an array", { content: "42" }, false],
    ["annotations", { content: [{ type: "text", text: "x", annotations: { priority: 1 } }] }, false],
    ["_meta", { content: [], _meta: {} }, false],
    ["null", null, false],
  ])("%s", (_name, result, isFast) => {
    expect(isPlainCallToolResult(result)).toBe(isFast);
    // Never accepts what the SDK's schema would refuse.
    if (isFast) expect(CallToolResultSchema.safeParse(result).success).toBe(true);
  });
});
