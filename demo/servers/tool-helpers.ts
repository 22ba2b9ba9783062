import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";

import { BILLING_CURRENT_MONTH, BILLING_FIRST_DATE, isMonthWithData } from "./billing-data";

export const DEMO_SERVER_VERSION = "1.0.0";

export interface DemoServerOptions {
  /**
   * Replaces the description of the named tools. Exists so tests can run a variant of a server whose
   * tool definitions drifted from the pinned ones, exactly as a rug-pulled upstream would look.
   */
  descriptionOverrides?: Record<string, string>;
}

/** Merges overrides into the default descriptions; an unknown tool name is a typo in a test, so it throws. */
export function resolveDescriptions<ToolName extends string>(
  defaults: Record<ToolName, string>,
  overrides: Record<string, string> | undefined,
): Record<ToolName, string> {
  const resolved = { ...defaults };
  for (const [name, description] of Object.entries(overrides ?? {})) {
    if (!Object.hasOwn(defaults, name)) {
      throw new Error(`descriptionOverrides names unknown tool "${name}"; known tools: ${Object.keys(defaults).join(", ")}`);
    }
    resolved[name as ToolName] = description;
  }
  return resolved;
}

/**
 * Both forms on purpose: structured content for clients that read it, and the same JSON as text for
 * the many clients (and models) that only look at `content`.
 */
export function jsonResult(data: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: JSON.stringify(data, null, 2) }], structuredContent: data };
}

/** A tool-level error, which the model sees and can correct, rather than a protocol error it cannot. */
export function errorResult(message: string): CallToolResult {
  return { content: [{ type: "text", text: message }], isError: true };
}

export const isoDateSchema = z.iso.date({ error: "must be a calendar date in the form YYYY-MM-DD" });

export const monthSchema = z
  .string()
  .regex(/^\d{4}-(0[1-9]|1[0-2])$/, { error: "must be a month in the form YYYY-MM" })
  .describe(`Month in the form YYYY-MM; billing data covers ${BILLING_FIRST_DATE.slice(0, 7)} to ${BILLING_CURRENT_MONTH}`);

export function noDataForMonthMessage(month: string): string | undefined {
  return isMonthWithData(month)
    ? undefined
    : `No billing data for ${month}; data covers ${BILLING_FIRST_DATE.slice(0, 7)} to ${BILLING_CURRENT_MONTH}.`;
}

/** Money inputs: positive, at most a cent of precision, and bounded so a typo cannot create an absurd budget. */
export const usdAmountSchema = z
  .number()
  .positive()
  .max(10_000_000)
  .refine((value) => Math.abs(value * 100 - Math.round(value * 100)) < 1e-6, { error: "must have at most two decimal places" });

export function usdToCents(usd: number): number {
  return Math.round(usd * 100);
}
