import type { ConfigSnapshot } from "@/lib/config/snapshot";

import type { PolicyAdapter } from "./portal-index";

/**
 * The gateway's bridge to lib/policy, the evaluator shared with the dashboard's explainer.
 * Until lib/policy/evaluate.ts lands this fails closed: every tool call is denied, with a reason
 * that says so, rather than the gateway growing a second, drifting evaluator of its own.
 */
export function createPolicyAdapter(snapshot: ConfigSnapshot): PolicyAdapter {
  void snapshot;
  return {
    decide: () => ({ effect: "deny", reasons: ["the policy evaluator is not installed in this gateway build"], rule: "fail-closed" }),
  };
}
