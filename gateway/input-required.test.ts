import { describe, expect, it } from "vitest";

import { askedOf, reportInputResponses, type ServerRequestReport } from "./input-required";

describe("askedOf: what a 2026-07-28 upstream's input_required asks, as the state keeps it", () => {
  it.each([
    [{ inputRequests: { name: { method: "elicitation/create", params: {} }, llm: { method: "sampling/createMessage" } } }, [["name", "elicitation/create"], ["llm", "sampling/createMessage"]]],
    [{ inputRequests: { odd: null } }, [["odd", "unknown"]]],
    [{ inputRequests: [] }, []],
    [{}, []],
  ])("%j → %j", (result, expected) => {
    expect(askedOf(result as Record<string, unknown>)).toEqual(expected);
  });

  it("keeps at most 32 questions, with bounded keys, so the sealed state stays small", () => {
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`${"k".repeat(300)}${i}`, { method: "roots/list" }]));
    const asked = askedOf({ inputRequests: many });
    expect(asked).toHaveLength(32);
    expect(asked.every(([key]) => key.length === 200)).toBe(true);
  });
});

describe("reportInputResponses: one record per question, with its outcome", () => {
  const run = (inputResponses: unknown) => {
    const records: Parameters<ServerRequestReport>[0][] = [];
    reportInputResponses((r) => records.push(r), {
      server: "conf2",
      asked: [
        ["name", "elicitation/create"],
        ["llm", "sampling/createMessage"],
      ],
      askedAt: Date.now(),
      inputResponses,
      dlp: undefined,
    });
    return records;
  };

  it("answered, declined and missing answers each get their own outcome", () => {
    expect(run({ name: { action: "decline" } })).toEqual([
      expect.objectContaining({ server: "conf2", method: "elicitation/create", outcome: "success", detail: { result: "answered", inputKey: "name", action: "decline" }, reason: null }),
      expect.objectContaining({ method: "sampling/createMessage", outcome: "failure", detail: { result: "not answered", inputKey: "llm" }, reason: "the client gave no response to sampling/createMessage" }),
    ]);
  });

  it("treats answers that are not objects as no answer", () => {
    expect(run({ name: "yes", llm: [1] }).map((r) => r.outcome)).toEqual(["failure", "failure"]);
    expect(run(null).map((r) => r.outcome)).toEqual(["failure", "failure"]);
  });
});
