import "server-only";
import type { Db } from "../db/client";
import { recordConfigChange } from "../audit";
import { authorize, type Actor } from "../auth/actor";
import { reloadRunningProvider } from "./interactions";
import { rotateOAuthSigningKeys } from "./keys";

/**
 * An admin rotates the authorization server's signing keys. This process signs with the new keys at
 * once; other control-plane processes notice within 30 s (server.ts). Gateways fetch the JWKS again
 * when they meet the new key id, and keep the old keys until those are retired.
 */
export async function rotateSigningKeys(db: Db, actor: Actor): Promise<{ added: string[]; retired: string[] }> {
  authorize(actor, "settings:write");
  const result = await rotateOAuthSigningKeys(db);
  await db.$transaction((tx) => recordConfigChange(tx, actor, { action: "oauth.keys.rotate", targetType: "settings", targetId: "oauth.jwks", after: result }));
  await reloadRunningProvider();
  return result;
}
