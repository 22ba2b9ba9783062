import { z } from "zod";
import { listParams, riskClass, text, type RiskClass } from "./common";

export const toolStates = ["active", "changed", "removed"] as const;

export const listToolsParams = listParams.extend({
  serverId: text().max(64).optional(),
  state: z.enum(toolStates).optional(),
  riskClass: riskClass.optional(),
});

export const updateToolInput = z.object({ riskClass });
export type UpdateToolInput = z.infer<typeof updateToolInput>;

export type ToolDefinition = {
  name: string;
  title?: string | null;
  description: string;
  inputSchema: unknown;
  outputSchema?: unknown;
  annotations?: unknown;
};

export type ToolView = {
  id: string;
  serverId: string;
  serverSlug: string;
  serverName: string;
  name: string;
  title: string | null;
  description: string;
  inputSchema: unknown;
  outputSchema: unknown;
  annotations: unknown;
  riskClass: RiskClass;
  riskClassManual: boolean;
  state: (typeof toolStates)[number];
  definitionHash: string;
  pendingDefinition: ToolDefinition | null;
  updatedAt: string;
};
