import {
  CompleteRequestSchema,
  ErrorCode,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ReadResourceRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

import { deny, rpcEnding, type Call, type Ending } from "../exchange";
import type { GatewayState } from "../portal-index";

/**
 * Stage 4, resolve: the portal as the running config has it now (so a tool turned off stops on
 * the very next call, in every open session), the method's params, and for tools/call the tool
 * behind the name the client used, refused when the portal does not offer it or its upstream now
 * describes it otherwise than the definition an admin accepted.
 *
 * tools/call and tools/list are checked by hand: they are the hot path, and the SDK's zod schemas
 * for them cost more than the rest of this stage. Other methods use the SDK's schemas.
 */

export type ResolveDeps = { getState: () => GatewayState | null; hasDrifted: (server: string, tool: string, hash: string) => boolean };

const SDK_SCHEMAS: Record<string, { safeParse(value: unknown): { success: boolean } }> = {
  "prompts/list": ListPromptsRequestSchema,
  "prompts/get": GetPromptRequestSchema,
  "resources/list": ListResourcesRequestSchema,
  "resources/templates/list": ListResourceTemplatesRequestSchema,
  "resources/read": ReadResourceRequestSchema,
  "resources/subscribe": SubscribeRequestSchema,
  "resources/unsubscribe": UnsubscribeRequestSchema,
  "completion/complete": CompleteRequestSchema,
};

const isPlainObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

export function createResolve(deps: ResolveDeps) {
  return (call: Call): Ending | undefined => {
    const state = deps.getState();
    const portal = state?.portals.get(call.caller.portalSlug);
    if (!state || !portal) return rpcEnding(ErrorCode.InvalidRequest, "This portal is no longer available.");
    call.state = state;
    call.portal = portal;

    if (call.method === "tools/call") return resolveTool(call, deps);
    if (call.method === "tools/list") {
      const cursor = call.params?.cursor;
      return cursor === undefined || typeof cursor === "string" ? undefined : rpcEnding(ErrorCode.InvalidParams, "Invalid params for tools/list.");
    }
    const schema = SDK_SCHEMAS[call.method];
    if (!schema) return rpcEnding(ErrorCode.MethodNotFound, `Method not found: ${call.method.slice(0, 100)}`);
    const params = call.params ?? {};
    return schema.safeParse({ method: call.method, params }).success ? undefined : rpcEnding(ErrorCode.InvalidParams, `Invalid params for ${call.method}.`);
  };
}

function resolveTool(call: Call, deps: ResolveDeps): Ending | undefined {
  const params = call.params;
  const name = params?.name;
  const args = params?.arguments;
  if (typeof name !== "string" || (args !== undefined && !isPlainObject(args))) {
    return rpcEnding(ErrorCode.InvalidParams, "Invalid params for tools/call: a tool name is required, and arguments must be an object.");
  }
  const meta = params!._meta;
  if (meta !== undefined) {
    if (!isPlainObject(meta)) return rpcEnding(ErrorCode.InvalidParams, "Invalid params for tools/call: _meta must be an object.");
    const token = meta.progressToken;
    if (typeof token === "string" || typeof token === "number") call.progressToken = token;
  }
  call.exposedName = name;
  call.arguments = args;
  const portal = call.portal!;
  const tool = portal.tools.get(name);
  if (!tool) {
    const why = portal.unavailableTools.get(name);
    if (why === "quarantined") return deny(call, "tool quarantined: definition changed upstream", rpcEnding(ErrorCode.InvalidParams, `Tool "${name}" is quarantined: its definition changed upstream and an admin must review it.`));
    if (why === "turned_off") return deny(call, "tool turned off in this portal", rpcEnding(ErrorCode.InvalidParams, `Tool "${name}" is turned off in this portal.`));
    if (why === "ambiguous") return deny(call, "tool not available: its name is ambiguous in this portal", toolUnavailable(name, "its name is ambiguous in this portal"));
    // A name the portal never offered: recorded as such, not as if it were a tool (stages/audit.ts).
    call.isUnknownTool = true;
    return deny(call, "unknown tool", toolUnavailable(name, "no tool has that name; tools/list shows the names to call"));
  }
  call.tool = tool;
  call.server = tool.serverSlug;
  call.target = tool.upstreamName;
  if (deps.hasDrifted(tool.serverSlug, tool.upstreamName, tool.definitionHash)) {
    return deny(
      call,
      "tool definition drifted upstream",
      rpcEnding(ErrorCode.InvalidParams, `Tool "${name}" is quarantined: its upstream server now describes it differently than the definition an admin accepted, and an admin must review the change.`),
    );
  }
  return undefined;
}

/**
 * Tools the portal does not serve answer -32602 (Invalid params), as the MCP spec asks of an
 * unknown tool in every era; policy refusals, by contrast, are tool results (stages/decide.ts).
 */
export const toolUnavailable = (name: string, why?: string): Ending =>
  rpcEnding(ErrorCode.InvalidParams, why ? `Tool "${name}" is not available in this portal: ${why}.` : `Tool "${name}" is not available in this portal.`);
