import { describe, expect, it } from "vitest";

import { askedOf, refusedInputRequests, reportInputResponses, type ServerRequestReport } from "./input-required";

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

describe("refusedInputRequests: what of an upstream's input_required the gateway will not put to the client", () => {
  const spec = { slug: "bills", serverRequests: { sampling: false, elicitation: true } };
  const result = {
    resultType: "input_required",
    inputRequests: {
      name: { method: "elicitation/create", params: { message: "Name?" } },
      summary: { method: "sampling/createMessage", params: { messages: [], maxTokens: 5 } },
      where: { method: "roots/list" },
    },
  };

  it("names each refused question with why: the server's switch first, then what the client did not declare", () => {
    expect(refusedInputRequests(result, { elicitation: {}, sampling: {} }, spec)).toEqual([
      { key: "summary", method: "sampling/createMessage", reason: "sampling is turned off for server bills", capability: "sampling", switchedOff: true },
      { key: "where", method: "roots/list", reason: "the client did not declare roots", capability: "roots", switchedOff: false },
    ]);
    expect(refusedInputRequests(result, { elicitation: {}, sampling: {}, roots: {} }, { slug: "bills" })).toEqual([]);
  });

  it("refuses what Portico does not relay, and a malformed question, without a capability to name", () => {
    expect(refusedInputRequests({ inputRequests: { t: { method: "tasks/get" }, x: "junk" } }, { sampling: {} }, { slug: "s" })).toEqual([
      { key: "t", method: "tasks/get", reason: "tasks/get is not a request Portico relays", capability: null, switchedOff: false },
      { key: "x", method: "unknown", reason: "unknown is not a request Portico relays", capability: null, switchedOff: false },
    ]);
    expect(refusedInputRequests({ resultType: "input_required", requestState: "s" }, null, { slug: "s" })).toEqual([]);
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
