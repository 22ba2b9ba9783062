import { apiRoute, queryOf } from "@/lib/server/http";
import { exportResponse } from "@/lib/server/audit-export";

/** The filtered set as CSV or JSON Lines, streamed from the database in keyset chunks. */
export const GET = apiRoute(({ db, actor, req }) => exportResponse(db, actor, queryOf(req), req.signal));
