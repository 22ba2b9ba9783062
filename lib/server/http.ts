import "server-only";
import { NextResponse, type NextRequest } from "next/server";
import { AppError } from "@/lib/errors";
import { toAppError } from "./errors";
import { getDb } from "./db/instance";
import type { Db } from "./db/client";
import { requireActor } from "./auth/current";
import type { Actor } from "./auth/actor";
import { requestIdFrom } from "./auth/request-context";
import { changesConfig, publishConfig, PUSH_WAIT_MS } from "./config-publisher";
import { assertGatewayToken } from "./internal-auth";
import { describeError, log } from "./log";
import { assertOperationContract } from "./api-contract";

const MAX_BODY_BYTES = 1024 * 1024;

export function problem(error: AppError, requestId: string): NextResponse {
  return NextResponse.json(
    {
      type: `https://portico.dev/problems/${error.code}`,
      title: error.message,
      status: error.status,
      code: error.code,
      requestId,
      ...(error.fieldErrors.length ? { errors: error.fieldErrors } : {}),
    },
    {
      status: error.status,
      headers: {
        "content-type": "application/problem+json",
        "x-request-id": requestId,
        ...(error.status === 401 ? { "www-authenticate": 'Bearer realm="portico"' } : {}),
      },
    },
  );
}

/**
 * Reads a JSON body (type, size and syntax checked). Its shape is validated by the data-access
 * function, after it has authorized the caller: a caller without the right learns nothing from
 * validation errors.
 */
export async function readJson(req: Request): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) throw new AppError("bad_request", "Send a JSON body with Content-Type: application/json");
  const length = Number(req.headers.get("content-length") ?? 0);
  if (length > MAX_BODY_BYTES) throw new AppError("bad_request", "The body is too large");
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw new AppError("bad_request", "The body is too large");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The body is not valid JSON");
  }
  return body;
}

export const queryOf = (req: NextRequest) => Object.fromEntries(req.nextUrl.searchParams);

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * A browser sends the session cookie with cross-site requests it is allowed to make; refusing
 * writes whose Origin is another site closes that door (CSRF) on top of SameSite cookies. Bearer
 * tokens are not sent by browsers on their own, so token calls need no Origin.
 */
function assertSameOriginWrite(req: NextRequest) {
  if (SAFE_METHODS.has(req.method) || req.headers.has("authorization")) return;
  const origin = req.headers.get("origin");
  if (!origin) return;
  const host = req.headers.get("x-forwarded-host") ?? req.headers.get("host");
  let originHost: string | null = null;
  try {
    originHost = new URL(origin).host;
  } catch {
    // "null" or garbage: not this site.
  }
  if (originHost !== host) throw new AppError("forbidden", "Cross-site requests are not allowed");
}

type Handler<P> = (ctx: { req: NextRequest; params: P; actor: Actor; db: Db; requestId: string }) => Promise<unknown>;

export const created = (body: unknown) => NextResponse.json(body, { status: 201 });
export const noContent = () => new NextResponse(null, { status: 204 });

/**
 * What every route wrapper shares: the request id on the answer, no caching, and errors as
 * problem+json. An unexpected error is logged with the request id and answered generically.
 */
export async function respond(req: NextRequest, requestId: string, run: () => Promise<unknown>): Promise<Response> {
  try {
    const result = await run();
    const response = result instanceof Response ? result : NextResponse.json(result);
    response.headers.set("x-request-id", requestId);
    response.headers.set("cache-control", "no-store");
    return response;
  } catch (error) {
    const known = toAppError(error);
    if (known) return problem(known, requestId);
    log("error", "unhandled error in route", { requestId, path: req.nextUrl.pathname, ...describeError(error) });
    return problem(new AppError("internal", "Something went wrong on our side"), requestId);
  }
}

/**
 * The wrapper of every /api/v1 route handler: request id, authentication, error mapping. Each
 * handler still authorizes itself through the data-access function it calls.
 */
export function apiRoute<P = Record<string, never>>(handler: Handler<P>) {
  return async (req: NextRequest, context: { params: Promise<P> }): Promise<Response> => {
    const requestId = requestIdFrom(req.headers);
    return respond(req, requestId, async () => {
      assertSameOriginWrite(req);
      const actor = await requireActor(req.headers);
      assertOperationContract(req, actor);
      const db = await getDb();
      const result = await handler({ req, params: await context.params, actor: { ...actor, requestId }, db, requestId });
      // Answered once the live gateways run the new version (or after PUSH_WAIT_MS, when one is
      // slow or gone), so that "saved" and "approved" mean "in force", and a client that retries
      // on the answer is let through, or refused, by the change it waited for.
      if (changesConfig(req.method, req.nextUrl.pathname)) {
        // The person behind the change is the version's author, though the publisher signs it.
        const summary = `${req.method} ${req.nextUrl.pathname} by ${"email" in actor ? actor.email : "system"}`;
        await publishConfig(db, summary, { createdById: "userId" in actor ? actor.userId : null, waitForGatewaysMs: PUSH_WAIT_MS });
      }
      return result;
    });
  };
}

/**
 * The wrapper of /api/internal routes, called by gateways with the shared gateway token instead
 * of a user's session.
 */
export function internalRoute(handler: (ctx: { req: NextRequest; db: Db; requestId: string }) => Promise<unknown>) {
  return async (req: NextRequest): Promise<Response> => {
    const requestId = requestIdFrom(req.headers);
    return respond(req, requestId, async () => {
      assertGatewayToken(req);
      return handler({ req, db: await getDb(), requestId });
    });
  };
}
