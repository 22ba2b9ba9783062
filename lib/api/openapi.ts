import { z } from "zod";
import { permissions, scopeFor } from "@/lib/auth/permissions";
import { operations } from "./operations";

const problem = {
  description: "Problem details (RFC 9457)",
  content: {
    "application/problem+json": {
      schema: {
        type: "object",
        required: ["type", "title", "status", "code", "requestId"],
        properties: {
          type: { type: "string" },
          title: { type: "string" },
          status: { type: "integer" },
          code: { type: "string" },
          requestId: { type: "string" },
          errors: { type: "array", items: { type: "object", properties: { field: { type: "string" }, message: { type: "string" } } } },
        },
      },
    },
  },
};

const jsonSchema = (schema: z.ZodType, io: "input" | "output" = "input") =>
  z.toJSONSchema(schema, { io, target: "draft-2020-12", unrepresentable: "any" });

/** OpenAPI 3.1 for /api/v1, generated from the operation list and its zod schemas. */
export function openApiDocument(serverUrl: string) {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of operations) {
    const pathParams = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
    const queryParams = op.query
      ? Object.entries(op.query.shape).map(([name, schema]) => ({
          name,
          in: "query",
          required: false,
          schema: jsonSchema(schema as z.ZodType),
        }))
      : [];
    const roles = op.permission ? (permissions[op.permission] as readonly string[]).join(", ") : "any signed-in user";
    const scope = op.permission ? scopeFor(op.permission) : op.scope;
    const status = op.status ?? 200;
    const takesCursor = Boolean(op.query && "cursor" in op.query.shape);
    paths[op.path] ??= {};
    paths[op.path]![op.method] = {
      summary: op.summary,
      description: `Allowed for: ${roles}.${op.permission ? ` Permission \`${op.permission}\`.` : ""}${scope ? ` An API token needs the \`${scope}\` scope.` : ""}`,
      tags: [op.tag],
      operationId: `${op.method}${op.path.replace(/\{(\w+)\}/g, "By_$1").replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ""))}`,
      parameters: [...pathParams, ...queryParams],
      ...(op.body ? { requestBody: { required: true, content: { "application/json": { schema: jsonSchema(op.body) } } } } : {}),
      responses: {
        [String(status)]:
          status === 204
            ? { description: "Done: no body" }
            : { description: status === 201 ? "Created" : "OK", content: { "application/json": { schema: op.response ? jsonSchema(op.response, "output") : { type: "object" } } } },
        // A body that is not JSON, or a cursor from elsewhere.
        ...(op.body || takesCursor ? { "400": problem } : {}),
        "401": problem,
        "403": problem,
        ...(op.path.includes("{") ? { "404": problem } : {}),
        ...(op.body || op.method === "delete" ? { "409": problem } : {}),
        // Every operation refuses a query parameter it does not take, and checks the ones it does.
        "422": problem,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Portico admin API",
      version: "1",
      description:
        "Manage MCP servers, portals, roles, users and API tokens. Errors are RFC 9457 problem+json. Success codes follow one rule: 201 with the record for a create, 202 with the job for work started in the background, 204 with no body for every DELETE, 200 with a body for anything else. A query parameter an operation does not list is refused (422), never ignored.",
    },
    servers: [{ url: serverUrl }],
    security: [{ bearerToken: [] }, { sessionCookie: [] }],
    components: {
      securitySchemes: {
        bearerToken: { type: "http", scheme: "bearer", description: "An API token (ptk_…) created under API tokens" },
        sessionCookie: { type: "apiKey", in: "cookie", name: "authjs.session-token" },
      },
    },
    paths,
  };
}
