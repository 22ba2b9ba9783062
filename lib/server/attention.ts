import "server-only";

import type { Actor } from "@/lib/server/auth/actor";
import { countAttentionAlerts } from "@/lib/server/alerts/alerts";
import { getDb } from "@/lib/server/db/instance";
import { countDecidableRequests } from "@/lib/server/step-up";

/**
 * What waits for this person, counted for the sidebar's badges: one entry per section that can
 * ask for attention (the Approvals queue, open alerts). Each counter decides who it applies to and
 * returns undefined for everyone else, so the shell shows no badge rather than a zero it cannot
 * act on.
 */
export type AttentionCounts = Partial<Record<AttentionKey, number>>;
export type AttentionKey = "approvals" | "alerts";

type Counter = (actor: Actor) => Promise<number | undefined>;

const counters: Partial<Record<AttentionKey, Counter>> = {
  alerts: async (actor) => countAttentionAlerts(await getDb(), actor),
  // Pending step-up requests this person may decide (not their own, and only where they are a named approver).
  approvals: async (actor) => countDecidableRequests(await getDb(), actor),
};

export async function attentionFor(actor: Actor): Promise<AttentionCounts> {
  const entries = await Promise.all(
    (Object.entries(counters) as [AttentionKey, Counter][]).map(async ([key, count]) => [key, await count(actor)] as const),
  );
  const counts: AttentionCounts = {};
  for (const [key, n] of entries) if (n !== undefined) counts[key] = n;
  return counts;
}
