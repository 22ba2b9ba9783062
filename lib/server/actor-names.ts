import "server-only";
import type { Db } from "./db/client";

/**
 * One name for one service account on the dashboard. The gateway's events label a service account
 * with its client id (the token's subject, all the gateway knows), the control plane's own events
 * (token requests, approvals) with its name: the same actor read "sa_demo_analyst" in one place and
 * "Demo automation (Analyst)" in another. The dashboard shows the name; the id stays where ids are
 * shown (the event's actor id, the explorer's actor filter).
 */
type ActorFields = { actorType: string; actorId?: string | null; actorLabel?: string | null };

/** The client id of a service-account event labelled by its id (or not at all), which a name should replace. */
export function unnamedServiceAccount(event: ActorFields): string | null {
  const id = event.actorId;
  if (event.actorType !== "service_account" || !id) return null;
  return !event.actorLabel || event.actorLabel === id ? id : null;
}

/** Service accounts' names by client id, for the ids given (one query; unknown or deleted ids are absent). */
export async function serviceAccountNames(db: Db, clientIds: Iterable<string>): Promise<Map<string, string>> {
  const ids = [...new Set(clientIds)];
  if (ids.length === 0) return new Map();
  const rows = await db.serviceAccount.findMany({ where: { clientId: { in: ids } }, select: { clientId: true, name: true } });
  return new Map(rows.map((r) => [r.clientId, r.name]));
}
