import { describe, expect, it, vi } from "vitest";

import { describeError, log } from "./log";

describe("control-plane logs", () => {
  it("describe an error by kind, code and a bounded message, with no stack trace", () => {
    const error = Object.assign(new TypeError("fetch failed"), { code: "ECONNREFUSED" });
    expect(describeError(error)).toEqual({ error: "TypeError", code: "ECONNREFUSED", detail: "fetch failed" });
    expect(describeError(new Error("x".repeat(2_000))).detail).toHaveLength(500);
  });

  it("leave out a Prisma error's message, which can quote query arguments", () => {
    const error = new Error('Unique constraint failed on "secretEnc" = "v1:abc"');
    error.name = "PrismaClientKnownRequestError";
    expect(describeError(error)).toEqual({ error: "PrismaClientKnownRequestError" });
  });

  it("write a warning with a failure as one JSON line that holds no stack frame", () => {
    const write = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      log("warn", "dead-letter replay failed", { gateway: "gw-1", ...describeError(new TypeError("fetch failed")) });
      const line = String(write.mock.calls[0]?.[0]);
      expect(JSON.parse(line)).toMatchObject({ level: "warn", msg: "dead-letter replay failed", gateway: "gw-1", error: "TypeError" });
      expect(line).not.toMatch(/stack|\bat .+:\d+:\d+/);
    } finally {
      write.mockRestore();
    }
  });
});
