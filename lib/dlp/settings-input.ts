import { z } from "zod";

import { text } from "@/lib/schemas/common";

import { dlpActions, dlpPattern, portalDlp } from "./policy";

// What an admin sends is stored (Settings): every string, keys included, must be storable text, so
// a NUL gets a 422 naming the field rather than a database error.
const storedPattern = dlpPattern.extend({ name: text().min(1).max(100), regex: text().min(1).max(1000) });
const storedPortalDlp = portalDlp.extend({ actions: z.record(text().min(1).max(64), z.enum(dlpActions)).default({}) });

/** What the DLP settings API takes: shared by the route's data access and the OpenAPI document. */
export const updateDlpInput = z
  .object({
    patterns: z.array(storedPattern).max(50),
    portals: z.record(text().min(1).max(64), storedPortalDlp),
  })
  .partial()
  .strict();

export const testDlpInput = z.object({
  text: z.string().max(64 * 1024),
  patterns: z.array(dlpPattern).max(50).optional(),
});

