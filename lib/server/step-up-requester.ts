import "server-only";
import { forbidden } from "@/lib/errors";
import type { Actor } from "./auth/actor";
import type { Db } from "./db/client";
import { userRequester, type Requester } from "./step-up";

/** A dashboard user or their API token files requests as themselves; system actors have no one to elevate. */
export async function requesterOfActor(db: Db, actor: Actor): Promise<Requester> {
  if (actor.type === "system") throw forbidden("Only people and service accounts ask for elevated access");
  return userRequester(db, actor.userId, { requestId: actor.requestId, ip: actor.ip });
}
