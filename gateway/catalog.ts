import { ErrorCode, type GetPromptRequest, type ReadResourceRequest } from "@modelcontextprotocol/sdk/types.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";

import type { Answer } from "./answer";
import { deny, rpcEnding, type Call } from "./exchange";
import type { GatewayMetrics } from "./metrics";
import { upstreamFailure } from "./upstream-failure";
import type { UpstreamPool, UpstreamSpec } from "./upstreams";
import type { VisibleTools } from "./visible-tools";

/**
 * Prompts and resources: the forward stage of the methods that are not tools. Lists fan out to
 * every server the caller can see and merge; a get or read goes to the one server that owns the
 * name or URI. Roles grant tools, not prompts: a server where the caller sees no tool stays dark.
 */

export type CatalogDeps = { upstreams: UpstreamPool; visibleTools: VisibleTools; metrics: GatewayMetrics; upstreamTimeoutMs?: number };

export function createCatalog(deps: CatalogDeps) {
  function visibleServers(call: Call): Map<string, UpstreamSpec> {
    const portal = call.portal!;
    const servers = new Map<string, UpstreamSpec>();
    for (const tool of deps.visibleTools.of(call.state!, portal, call.caller.identity, call.ctx.sourceIp).tools) {
      const spec = portal.servers.get(tool.serverSlug);
      if (spec) servers.set(spec.slug, spec);
    }
    return servers;
  }

  /** Asks every visible server at once; one that is down or slow is left out, not fatal. */
  async function fanOut<T>(call: Call, list: (spec: UpstreamSpec) => Promise<T[]>): Promise<Array<[string, T[]]>> {
    const servers = [...visibleServers(call).values()].sort((a, b) => (a.slug < b.slug ? -1 : 1));
    const results = await Promise.allSettled(servers.map((spec) => list(spec)));
    const failed: string[] = [];
    const lists: Array<[string, T[]]> = [];
    results.forEach((r, i) => {
      if (r.status === "fulfilled") lists.push([servers[i]!.slug, r.value]);
      else failed.push(servers[i]!.slug);
    });
    if (failed.length) {
      call.upstreamOutcome = "partial";
      call.reasons.push(`left out unavailable servers: ${failed.join(", ")}`);
    } else {
      call.upstreamOutcome = "success";
    }
    return lists;
  }

  async function listPrompts(call: Call): Promise<Answer> {
    const lists = await fanOut(call, (spec) => deps.upstreams.listPrompts(spec));
    const prompts = lists.flatMap(([slug, items]) => items.map((p) => ({ ...p, name: `${slug}_${p.name}` })));
    call.result = { promptCount: prompts.length };
    return { result: { prompts } };
  }

  async function getPrompt(call: Call, signal: AbortSignal): Promise<Answer> {
    const params = call.params as GetPromptRequest["params"];
    call.arguments = params.arguments;
    const { name } = params;
    // Server slugs have no underscore, so the first one ends the prefix.
    const cut = name.indexOf("_");
    const spec = cut > 0 ? visibleServers(call).get(name.slice(0, cut)) : undefined;
    if (!spec) return { ending: deny(call, "prompt not available in this portal", rpcEnding(ErrorCode.InvalidParams, `Prompt "${name}" is not available in this portal.`)) };
    call.server = spec.slug;
    call.target = `prompt:${name.slice(cut + 1)}`;
    try {
      const result = await deps.upstreams.getPrompt(spec, name.slice(cut + 1), params.arguments, { signal, timeoutMs: deps.upstreamTimeoutMs });
      call.upstreamOutcome = "success";
      return { result };
    } catch (error) {
      return { ending: upstreamFailure(call, error, deps.metrics) };
    }
  }

  async function listResources(call: Call): Promise<Answer> {
    const lists = await fanOut(call, (spec) => deps.upstreams.listResources(spec));
    const routes = new Map<string, string>();
    const resources = [];
    for (const [slug, items] of lists) {
      for (const resource of items) {
        // URIs stay as the upstream gave them; the first server (by slug) to claim one wins.
        if (routes.has(resource.uri)) continue;
        routes.set(resource.uri, slug);
        resources.push(resource);
      }
    }
    call.caller.resourceRoutes = routes;
    call.result = { resourceCount: resources.length };
    return { result: { resources } };
  }

  async function listResourceTemplates(call: Call): Promise<Answer> {
    const lists = await fanOut(call, (spec) => deps.upstreams.listResourceTemplates(spec));
    call.caller.templateRoutes = lists.flatMap(([slug, items]) => items.map((t) => ({ slug, template: new UriTemplate(t.uriTemplate) })));
    return { result: { resourceTemplates: lists.flatMap(([, items]) => items) } };
  }

  async function readResource(call: Call, signal: AbortSignal): Promise<Answer> {
    const { uri } = call.params as ReadResourceRequest["params"];
    call.arguments = { uri };
    const servers = visibleServers(call);
    let slug = call.caller.resourceRoutes?.get(uri);
    if (!slug) {
      // Not listed by this caller yet: list now (cached upstream-side), then try templates.
      const lists = await fanOut(call, (spec) => deps.upstreams.listResources(spec));
      slug = lists.find(([, items]) => items.some((r) => r.uri === uri))?.[0];
      slug ??= call.caller.templateRoutes?.find((t) => t.template.match(uri) !== null)?.slug;
    }
    const spec = slug ? servers.get(slug) : undefined;
    if (!spec) return { ending: deny(call, "resource not available in this portal", rpcEnding(ErrorCode.InvalidParams, "Resource not available in this portal.")) };
    call.server = spec.slug;
    try {
      const result = await deps.upstreams.readResource(spec, uri, { signal, timeoutMs: deps.upstreamTimeoutMs });
      call.upstreamOutcome = "success";
      return { result };
    } catch (error) {
      return { ending: upstreamFailure(call, error, deps.metrics) };
    }
  }

  return {
    "prompts/list": listPrompts,
    "prompts/get": getPrompt,
    "resources/list": listResources,
    "resources/templates/list": listResourceTemplates,
    "resources/read": readResource,
  } satisfies Record<string, (call: Call, signal: AbortSignal) => Promise<Answer>>;
}
