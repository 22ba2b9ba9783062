import { createHash } from "node:crypto";
import { canonicalJson } from "@/lib/audit/event";
import type { RiskClass } from "@/lib/schemas/common";
import type { ToolDefinition } from "@/lib/schemas/tool";

/**
 * The pinned identity of a tool: what an upstream says the tool is and does. Any change to it
 * (a poisoned description, a widened schema) changes the hash and quarantines the tool.
 */
export function toolDefinitionHash(tool: ToolDefinition): string {
  const pinned = {
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? "",
    inputSchema: tool.inputSchema ?? null,
    outputSchema: tool.outputSchema ?? null,
    annotations: tool.annotations ?? null,
  };
  return createHash("sha256").update(canonicalJson(pinned)).digest("hex");
}

type Annotations = { readOnlyHint?: unknown; destructiveHint?: unknown };

/**
 * A first guess from MCP annotations. The spec's defaults are pessimistic: a tool that does not
 * say it is read-only may write, and one that does not deny being destructive may destroy.
 */
export function suggestRiskClass(annotations: unknown): RiskClass {
  const a = (annotations && typeof annotations === "object" ? annotations : {}) as Annotations;
  if (a.readOnlyHint === true) return "read";
  if (a.destructiveHint === false) return "write";
  return "destructive";
}

/** Exposed tool name at the gateway: `<server>_<tool>` unless aliased. */
export function exposedToolName(serverSlug: string, toolName: string, alias?: string | null): string {
  return alias ?? `${serverSlug}_${toolName}`;
}

export function isValidExposedName(name: string): boolean {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name);
}
