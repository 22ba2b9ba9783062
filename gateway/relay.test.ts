import { describe, expect, it } from "vitest";

import { canBeAsked, isLogLevelShown, missingCapability, upstreamCapabilities } from "./relay";

describe("missingCapability: what a client must have declared before the relay asks it", () => {
  it.each([
    [{ sampling: {} }, "sampling/createMessage", undefined, null],
    [{}, "sampling/createMessage", undefined, "the client did not declare sampling"],
    [{ roots: {} }, "roots/list", undefined, null],
    [{ sampling: {} }, "roots/list", undefined, "the client did not declare roots"],
    // An empty elicitation object is form mode (backwards compatibility).
    [{ elicitation: {} }, "elicitation/create", { message: "x" }, null],
    [{ elicitation: {} }, "elicitation/create", { mode: "url", url: "https://x" }, "the client did not declare url-mode elicitation"],
    [{ elicitation: { url: {} } }, "elicitation/create", { mode: "url" }, null],
    [{ elicitation: { url: {} } }, "elicitation/create", { message: "x" }, "the client did not declare form-mode elicitation"],
    [{ elicitation: { form: {}, url: {} } }, "elicitation/create", { message: "x" }, null],
    [{ sampling: {} }, "tasks/get", undefined, "tasks/get is not a request Portico relays"],
  ])("%j, %s %j → %s", (capabilities, method, params, expected) => {
    expect(missingCapability(capabilities, method, params as Record<string, unknown> | undefined)).toBe(expected);
  });
});

describe("upstreamCapabilities: the client's declaration less the server's switches", () => {
  it.each([
    [{ sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } }, undefined, { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } }],
    [{ sampling: {}, elicitation: {} }, { sampling: false, elicitation: true }, { elicitation: {} }],
    [{ sampling: {}, elicitation: {} }, { sampling: true, elicitation: false }, { sampling: {} }],
    [{ experimental: {} }, undefined, {}],
    [null, undefined, {}],
  ])("%j with %j → %j", (capabilities, serverRequests, expected) => {
    expect(upstreamCapabilities(capabilities, { serverRequests })).toEqual(expected);
  });

  it("gives a connection of its own only to clients that can be asked something", () => {
    expect(canBeAsked(null)).toBe(false);
    expect(canBeAsked({ experimental: {} })).toBe(false);
    expect(canBeAsked({ roots: {} })).toBe(true);
  });
});

describe("isLogLevelShown: a session's logging/setLevel", () => {
  it.each([
    ["debug", null, true],
    ["debug", "info", false],
    ["info", "info", true],
    ["error", "warning", true],
    ["warning", "error", false],
    ["emergency", "emergency", true],
    // Unknown levels are not ours to drop.
    ["verbose", "error", true],
  ] as const)("%s at threshold %s → %s", (level, threshold, expected) => {
    expect(isLogLevelShown(level, threshold)).toBe(expected);
  });
});
