import "server-only";
import type { NextRequest } from "next/server";
import { AppError, forbidden } from "@/lib/errors";
import { findOperation } from "@/lib/api/operations";
import { queryProblems } from "@/lib/api/query-params";
import { missingScope, type Actor } from "./auth/actor";

/**
 * What the operation list (lib/api/operations.ts, the OpenAPI document's source) promises about a
 * request, checked before its handler reads anything: an API token without the scope the
 * operation needs is refused before its body is parsed, and the query string must be the one the
 * document describes. Authorization proper stays in the data-access functions.
 */
export function assertOperationContract(req: NextRequest, actor: Actor): void {
  const op = findOperation(req.method, req.nextUrl.pathname);
  if (!op) return;
  const scope = op.permission ? missingScope(actor, op.permission) : actor.type === "api_token" && op.scope && !actor.scopes.includes(op.scope) ? op.scope : null;
  if (scope) throw forbidden(`This API token lacks the \`${scope}\` scope`);
  const problems = queryProblems(op.query, req.nextUrl.searchParams);
  if (problems.length) throw new AppError("validation_failed", problems.map((p) => p.message).join("; "), problems);
}
