import { randomUUID } from "node:crypto";

import { missingCapability } from "../relay";
import { toolEnding, type Call, type Ending } from "../exchange";

/**
 * Stage 5½, elicit step-up: a call decide sent to step-up, from a client that declared URL-mode
 * elicitation, is answered with an `elicitation/create` (`mode: "url"`) pointing at the request
 * page, through the relay channel (a legacy session's call stream, or a 2026-07-28
 * `input_required` round), instead of the 403 challenge. Such a client may not re-authorize at
 * all (an automation, a client with a refresh token it keeps using); the person opens the page,
 * files the request, a manager approves it, and the same client's next call goes through on the
 * principal's grant (stages/grants.ts), as it does for the tool error's link. The call itself ends
 * with a tool error saying what happened, since its answer can no longer be an HTTP 403.
 *
 * Runs only for a step-up denial with a channel that can ask; every other call pays nothing.
 */

export type ElicitOutcome = "accepted" | "declined" | "cancelled" | "failed";

export function createElicitStepUp() {
  return async (call: Call, ending: Ending, signal?: AbortSignal): Promise<Ending> => {
    const ask = call.channel?.ask;
    if (ending.kind !== "http" || !call.stepUp || !ask) return ending;
    const params = {
      mode: "url",
      elicitationId: randomUUID(),
      url: call.stepUp.url,
      message: `${call.stepUp.ended ? `Your elevated access ended (${call.stepUp.ended}). ` : ""}${call.exposedName ?? "This tool"} needs a manager's approval (scope "${call.stepUp.scope}"). Open the page to ask for it; once approved, call the tool again.`,
    };
    // Only a client that declared URL mode is asked; the others keep the 403 (or its fallback).
    if (missingCapability(ask.capabilities, "elicitation/create", params) !== null) return ending;
    // Recorded before asking: a 2026-07-28 call is audited when its input_required round goes out.
    call.reasons.push("step-up request page sent by URL elicitation");
    let outcome: ElicitOutcome;
    try {
      const result = await ask.request("elicitation/create", params, signal);
      outcome = result.action === "accept" ? "accepted" : result.action === "decline" ? "declined" : "cancelled";
    } catch {
      outcome = "failed";
    }
    call.reasons.push(`the client ${outcome === "failed" ? "did not answer the elicitation" : `${outcome} it`}`);
    if (outcome === "accepted") {
      return toolEnding(`This tool needs elevated access (scope "${call.stepUp.scope}"). The request page was opened: ${call.stepUp.url} . Call the tool again once a manager approves.`);
    }
    if (outcome === "failed") return toolEnding(ending.fallback.text);
    return toolEnding(`This tool needs elevated access (scope "${call.stepUp.scope}"). Nothing was requested (the page was ${outcome}); ask for it at ${call.stepUp.url} when you need it.`);
  };
}
