import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

import { BILLING_ACCOUNT_IDS, BILLING_SERVICES, type CloudResource, createResourceInventory } from "./billing-data";
import { DEMO_SERVER_VERSION, type DemoServerOptions, errorResult, jsonResult, resolveDescriptions } from "./tool-helpers";

export const TAGGING_TOOL_DESCRIPTIONS = {
  list_untagged_resources:
    "Cloud resources missing one or more required tags (by default team and cost-center), optionally filtered by account or service.",
  tag_resource: "Set one tag on a cloud resource, replacing the value if the key is already present.",
  remove_tag: "Remove one tag from a cloud resource. The previous value is not kept.",
} as const;

export type TaggingToolName = keyof typeof TAGGING_TOOL_DESCRIPTIONS;

export const REQUIRED_TAG_KEYS = ["team", "cost-center"] as const;

/**
 * The resource inventory one running tagging server mutates. It lives outside the `McpServer`
 * because stateless Streamable HTTP builds a new `McpServer` for every request.
 */
export interface TaggingStore {
  resources: Map<string, CloudResource>;
}

export function createTaggingStore(): TaggingStore {
  return { resources: new Map(createResourceInventory().map((resource) => [resource.id, resource])) };
}

export interface TaggingServerOptions extends DemoServerOptions {
  /** Share one store across the servers of a stateless HTTP endpoint; a fresh one is made if omitted. */
  store?: TaggingStore;
}

// Cloud providers' common tag syntax (AWS is the strictest of them); `aws:` keys are reserved by AWS.
const tagKeySchema = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\p{L}\p{N} _.:/=+\-@]+$/u, { error: "may contain letters, digits, spaces and _ . : / = + - @ only" })
  .refine((key) => !key.toLowerCase().startsWith("aws:"), { error: 'keys starting with "aws:" are reserved' })
  // Tags are plain objects; assigning "__proto__" would silently vanish instead of storing a tag.
  .refine((key) => key !== "__proto__", { error: '"__proto__" is not a valid tag key' })
  .describe("Tag key, e.g. team or cost-center");

const tagValueSchema = z
  .string()
  .max(256)
  .regex(/^[\p{L}\p{N} _.:/=+\-@]*$/u, { error: "may contain letters, digits, spaces and _ . : / = + - @ only" })
  .describe("Tag value, e.g. checkout or cc-2040");

const resourceIdSchema = z.string().min(1).max(200).describe("Resource id as returned by list_untagged_resources");

function describeResource(resource: CloudResource) {
  return {
    id: resource.id,
    name: resource.name,
    account_id: resource.accountId,
    service: resource.service,
    region: resource.region,
    tags: { ...resource.tags },
  };
}

function notFound(resourceId: string) {
  return errorResult(`Resource "${resourceId}" not found. Use list_untagged_resources to find resource ids.`);
}

export function createTaggingServer(options: TaggingServerOptions = {}): McpServer {
  const descriptions = resolveDescriptions(TAGGING_TOOL_DESCRIPTIONS, options.descriptionOverrides);
  const store = options.store ?? createTaggingStore();
  const server = new McpServer(
    { name: "tagging", title: "Resource Tagging", version: DEMO_SERVER_VERSION },
    { instructions: `Cost allocation tags on cloud resources. Required tags: ${REQUIRED_TAG_KEYS.join(", ")}.` },
  );

  server.registerTool(
    "list_untagged_resources",
    {
      title: "List untagged resources",
      description: descriptions.list_untagged_resources,
      inputSchema: z.object({
        required_keys: z
          .array(tagKeySchema)
          .min(1)
          .max(10)
          .default([...REQUIRED_TAG_KEYS])
          .describe("A resource is listed if it lacks any of these tag keys"),
        account_id: z.enum(BILLING_ACCOUNT_IDS).optional(),
        service: z.enum(BILLING_SERVICES).optional(),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ required_keys: requiredKeys, account_id: accountId, service }) => {
      const resources = [...store.resources.values()]
        .filter((resource) => (accountId === undefined || resource.accountId === accountId) && (service === undefined || resource.service === service))
        .map((resource) => ({ resource, missing: requiredKeys.filter((key) => !Object.hasOwn(resource.tags, key)) }))
        .filter(({ missing }) => missing.length > 0)
        .map(({ resource, missing }) => ({ ...describeResource(resource), missing_keys: missing }));
      return jsonResult({ required_keys: requiredKeys, count: resources.length, resources });
    },
  );

  server.registerTool(
    "tag_resource",
    {
      title: "Tag a resource",
      description: descriptions.tag_resource,
      inputSchema: z.object({ resource_id: resourceIdSchema, key: tagKeySchema, value: tagValueSchema }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ resource_id: resourceId, key, value }) => {
      const resource = store.resources.get(resourceId);
      if (!resource) return notFound(resourceId);
      const previous = Object.hasOwn(resource.tags, key) ? resource.tags[key] : undefined;
      resource.tags[key] = value;
      return jsonResult({ changed: previous !== value, previous_value: previous ?? null, resource: describeResource(resource) });
    },
  );

  server.registerTool(
    "remove_tag",
    {
      title: "Remove a tag",
      description: descriptions.remove_tag,
      inputSchema: z.object({ resource_id: resourceIdSchema, key: tagKeySchema }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ resource_id: resourceId, key }) => {
      const resource = store.resources.get(resourceId);
      if (!resource) return notFound(resourceId);
      if (!Object.hasOwn(resource.tags, key)) {
        return jsonResult({ changed: false, removed_value: null, resource: describeResource(resource) });
      }
      const removed = resource.tags[key];
      delete resource.tags[key];
      return jsonResult({ changed: true, removed_value: removed ?? null, resource: describeResource(resource) });
    },
  );

  return server;
}
