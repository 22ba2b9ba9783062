import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable } from "node:stream";

import { NextRequest } from "next/server";

type NextHandler = (req: NextRequest, context: { params: Promise<Record<string, string>> }) => Promise<Response>;

/** A route module as integration tests import it (`app/api/.../route.ts`). */
export type RouteModule = Partial<Record<"GET" | "POST" | "PATCH" | "DELETE", unknown>>;

/**
 * server.ts in small, for integration tests that run real route handlers without Next.js: the
 * first pattern that matches the path picks the module, its named groups become `params`, and the
 * handler's Response is written back. 404 for a path or method no route has.
 */
export function routeRequests(routes: Array<[RegExp, RouteModule]>, base: string) {
  return (req: IncomingMessage, res: ServerResponse) => {
    const pathname = new URL(req.url ?? "/", base).pathname;
    const found = routes.map(([pattern, mod]) => [pattern.exec(pathname), mod] as const).find(([m]) => m);
    const handler = found?.[1][req.method as keyof RouteModule] as NextHandler | undefined;
    if (!found || !handler) return void res.writeHead(404).end();
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
    const hasBody = req.method !== "GET" && req.method !== "HEAD";
    const request = new NextRequest(
      new Request(`${base}${req.url}`, { method: req.method, headers, ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream<Uint8Array>, duplex: "half" } : {}) } as RequestInit),
    );
    void handler(request, { params: Promise.resolve({ ...found[0]!.groups }) }).then(async (response) => {
      const payload = Buffer.from(await response.arrayBuffer());
      res.writeHead(response.status, Object.fromEntries(response.headers));
      res.end(payload);
    });
  };
}
