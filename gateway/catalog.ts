import { ErrorCode, type CompleteRequest, type GetPromptRequest, type ReadResourceRequest } from "@modelcontextprotocol/sdk/types.js";
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

  /**
   * The portal's prompts under the names clients see: `<server>_<name>`, or where the portal drops
   * the prefix, the upstream's own name unless two servers offer one by that name.
   */
  async function promptNames(call: Call) {
    const servers = call.portal!.servers;
    const lists = (await fanOut(call, (spec) => deps.upstreams.listPrompts(spec))).map(
      // A prompt the portal turned off is not offered at all.
      ([slug, items]) => [slug, items.filter((p) => servers.get(slug)?.catalog?.prompts.get(p.name)?.enabled !== false)] as const,
    );
    const counts = new Map<string, number>();
    if (call.portal!.isPromptPrefixDropped) for (const [, items] of lists) for (const p of items) counts.set(p.name, (counts.get(p.name) ?? 0) + 1);
    return lists.flatMap(([slug, items]) =>
      items.map((prompt) => {
        const setting = servers.get(slug)?.catalog?.prompts.get(prompt.name);
        // An alias is the admin's name for it, whatever the prefix setting (the registry refuses clashing aliases).
        const exposed = setting?.alias ?? (counts.get(prompt.name) === 1 ? prompt.name : `${slug}_${prompt.name}`);
        return { slug, prompt: setting?.description !== undefined ? { ...prompt, description: setting.description } : prompt, exposed };
      }),
    );
  }

  async function listPrompts(call: Call): Promise<Answer> {
    const prompts = (await promptNames(call)).map(({ prompt, exposed }) => ({ ...prompt, name: exposed }));
    call.result = { promptCount: prompts.length };
    return { result: { prompts } };
  }

  /** The server and upstream name behind a prompt name a client used. */
  async function promptOwner(call: Call, name: string): Promise<{ spec: UpstreamSpec; upstreamName: string } | undefined> {
    // Names that settings change (aliases, prompts turned off) are resolved against the list as shown.
    if (call.portal!.isPromptPrefixDropped || [...call.portal!.servers.values()].some((s) => s.catalog?.prompts.size)) {
      const found = (await promptNames(call)).find((p) => p.exposed === name);
      const spec = found ? visibleServers(call).get(found.slug) : undefined;
      return spec && found ? { spec, upstreamName: found.prompt.name } : undefined;
    }
    // Server slugs have no underscore, so the first one ends the prefix.
    const cut = name.indexOf("_");
    const spec = cut > 0 ? visibleServers(call).get(name.slice(0, cut)) : undefined;
    return spec ? { spec, upstreamName: name.slice(cut + 1) } : undefined;
  }

  async function getPrompt(call: Call, signal: AbortSignal): Promise<Answer> {
    const params = call.params as GetPromptRequest["params"];
    call.arguments = params.arguments;
    const { name } = params;
    const owner = await promptOwner(call, name);
    if (!owner) return { ending: deny(call, "prompt not available in this portal", rpcEnding(ErrorCode.InvalidParams, `Prompt "${name}" is not available in this portal.`)) };
    const { spec } = owner;
    call.server = spec.slug;
    call.target = `prompt:${owner.upstreamName}`;
    try {
      const modern = await call.channel?.forwardModern?.(spec, "prompts/get", { name: owner.upstreamName, ...(params.arguments !== undefined ? { arguments: params.arguments } : {}) }, signal);
      const result = modern ?? (await deps.upstreams.getPrompt(spec, owner.upstreamName, params.arguments, { signal, timeoutMs: deps.upstreamTimeoutMs }));
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
      const settings = call.portal!.servers.get(slug)?.catalog?.resources;
      for (const resource of items) {
        // URIs stay as the upstream gave them; the first server (by slug) to claim one wins.
        if (routes.has(resource.uri)) continue;
        const setting = settings?.get(resource.uri);
        if (setting?.enabled === false) continue;
        routes.set(resource.uri, slug);
        resources.push(setting ? { ...resource, ...(setting.alias !== undefined ? { name: setting.alias } : {}), ...(setting.description !== undefined ? { description: setting.description } : {}) } : resource);
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

  /** The visible server that offers a URI: as listed to this caller, else listed now, else by a template it matches. */
  async function ownerOf(call: Call, uri: string): Promise<UpstreamSpec | undefined> {
    const servers = visibleServers(call);
    let slug = call.caller.resourceRoutes?.get(uri);
    if (!slug) {
      // Not listed by this caller yet: list now (cached upstream-side), then try templates.
      const lists = await fanOut(call, (spec) => deps.upstreams.listResources(spec));
      slug = lists.find(([, items]) => items.some((r) => r.uri === uri))?.[0];
    }
    if (!slug) {
      if (!call.caller.templateRoutes) await listResourceTemplates(call);
      slug = call.caller.templateRoutes?.find((t) => t.template.match(uri) !== null)?.slug;
    }
    return slug ? servers.get(slug) : undefined;
  }

  // The URI goes back in `data`, as SEP-2164 asks of a resource that is not found.
  const resourceUnavailable = (call: Call) => {
    const uri = (call.params as { uri?: unknown } | undefined)?.uri;
    return { ending: deny(call, "resource not available in this portal", rpcEnding(ErrorCode.InvalidParams, "Resource not available in this portal.", typeof uri === "string" ? { uri: uri.slice(0, 2048) } : undefined)) };
  };

  async function readResource(call: Call, signal: AbortSignal): Promise<Answer> {
    const { uri } = call.params as ReadResourceRequest["params"];
    call.arguments = { uri };
    const spec = await ownerOf(call, uri);
    if (!spec || spec.catalog?.resources.get(uri)?.enabled === false) return resourceUnavailable(call);
    call.server = spec.slug;
    try {
      const modern = await call.channel?.forwardModern?.(spec, "resources/read", { uri }, signal);
      const result = modern ?? (await deps.upstreams.readResource(spec, uri, { signal, timeoutMs: deps.upstreamTimeoutMs }));
      call.upstreamOutcome = "success";
      return { result };
    } catch (error) {
      return { ending: upstreamFailure(call, error, deps.metrics) };
    }
  }

  /** resources/subscribe: held upstream once per URI; the owning server's updates reach every subscribed session. */
  async function subscribe(call: Call, signal: AbortSignal): Promise<Answer> {
    const { uri } = call.params as { uri: string };
    call.arguments = { uri };
    const { caller } = call;
    if (!caller.notifyLater || !caller.subscriptions) return { ending: rpcEnding(ErrorCode.MethodNotFound, "Method not found: resources/subscribe needs a session.") };
    const spec = await ownerOf(call, uri);
    if (!spec) return resourceUnavailable(call);
    call.server = spec.slug;
    if (caller.subscriptions.has(uri)) return { result: {} };
    const notifyLater = caller.notifyLater;
    try {
      const release = await deps.upstreams.subscribe(spec, uri, (params) => notifyLater("notifications/resources/updated", params), { signal, timeoutMs: deps.upstreamTimeoutMs });
      caller.subscriptions.set(uri, release);
      call.upstreamOutcome = "success";
      return { result: {} };
    } catch (error) {
      return { ending: upstreamFailure(call, error, deps.metrics) };
    }
  }

  async function unsubscribe(call: Call): Promise<Answer> {
    const { uri } = call.params as { uri: string };
    call.arguments = { uri };
    call.caller.subscriptions?.get(uri)?.();
    call.caller.subscriptions?.delete(uri);
    return { result: {} };
  }

  /** completion/complete goes to the server that owns the prompt (by its portal name) or the resource template. */
  async function complete(call: Call, signal: AbortSignal): Promise<Answer> {
    const params = call.params as CompleteRequest["params"];
    call.arguments = { ref: params.ref, argument: params.argument };
    let spec: UpstreamSpec | undefined;
    let ref = params.ref;
    if (ref.type === "ref/prompt") {
      const owner = await promptOwner(call, ref.name);
      spec = owner?.spec;
      ref = { ...ref, name: owner?.upstreamName ?? ref.name };
    } else {
      if (!call.caller.templateRoutes) await listResourceTemplates(call);
      const uri = ref.uri;
      const slug = call.caller.templateRoutes?.find((t) => t.template.toString() === uri)?.slug;
      spec = slug ? visibleServers(call).get(slug) : undefined;
    }
    if (!spec) return { ending: deny(call, "completion target not available in this portal", rpcEnding(ErrorCode.InvalidParams, "Nothing by that reference in this portal.")) };
    call.server = spec.slug;
    try {
      const modern = await call.channel?.forwardModern?.(spec, "completion/complete", { ...params, ref }, signal);
      const result = modern ?? (await deps.upstreams.complete(spec, { ...params, ref }, { signal, timeoutMs: deps.upstreamTimeoutMs }));
      call.upstreamOutcome = "success";
      return { result };
    } catch (error) {
      return { ending: upstreamFailure(call, error, deps.metrics) };
    }
  }

  return {
    "resources/subscribe": subscribe,
    "resources/unsubscribe": unsubscribe,
    "completion/complete": complete,
    "prompts/list": listPrompts,
    "prompts/get": getPrompt,
    "resources/list": listResources,
    "resources/templates/list": listResourceTemplates,
    "resources/read": readResource,
  } satisfies Record<string, (call: Call, signal: AbortSignal) => Promise<Answer>>;
}
