import { apiRoute } from "@/lib/server/http";
import { verificationResponse } from "@/lib/server/audit-export";

/**
 * Runs a chain verification and streams its progress as JSON Lines: `{"type":"progress",…}` per
 * chunk, then one `{"type":"result",…}`. Closing the connection cancels it.
 */
export const POST = apiRoute(async ({ db, actor, req }) => verificationResponse(db, actor, req.signal));
