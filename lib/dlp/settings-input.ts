import { z } from "zod";
import { dlpPattern, portalDlp } from "./policy";

/** What the DLP settings API takes: shared by the route's data access and the OpenAPI document. */
export const updateDlpInput = z
  .object({
    patterns: z.array(dlpPattern).max(50),
    portals: z.record(z.string().min(1).max(64), portalDlp),
  })
  .partial()
  .strict();

export const testDlpInput = z.object({
  text: z.string().max(64 * 1024),
  patterns: z.array(dlpPattern).max(50).optional(),
});

