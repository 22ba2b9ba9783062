import { z } from "zod";
import { text } from "@/lib/schemas/common";
import { captureModes, dlpActions } from "./policy";

/**
 * What the DLP settings API takes: shared by the route's data access and the OpenAPI document.
 * Every string is `text()` (no NUL, no lone surrogate), so what is saved can always be stored.
 */
const detectorId = text().regex(/^[a-z0-9_]{1,40}$/, "Lowercase letters, digits and underscores");

export const patternInput = z.object({
  id: detectorId,
  name: text().trim().min(1, "Give the pattern a name").max(100, "At most 100 characters"),
  regex: text().min(1, "Enter a regular expression").max(1000, "At most 1000 characters"),
});

export const portalDlpInput = z.object({
  actions: z.record(detectorId, z.enum(dlpActions)).default({}),
  capture: z.enum(captureModes).default("full"),
});

export const updateDlpInput = z
  .object({
    patterns: z.array(patternInput).max(50),
    portals: z.record(text().min(1).max(64), portalDlpInput),
  })
  .partial()
  .strict();

export const testDlpInput = z.object({
  text: text().max(64 * 1024),
  /**
   * The patterns as the form shows them: a row whose expression is still blank (just added) is
   * left out of the test rather than refusing it, built-ins included; saving still names that row.
   */
  patterns: z.array(patternInput.extend({ regex: text().max(1000, "At most 1000 characters") })).max(50).optional(),
});
