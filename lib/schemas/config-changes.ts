import { z } from "zod";

/** Query of GET /api/v1/config/export. */
export const exportParams = z.object({ format: z.enum(["json", "yaml"]).default("json") });

/** Query of POST /api/v1/config/import (as the OpenAPI document shows it). */
export const importParamsSchema = z.object({ dryRun: z.enum(["true", "false", "1", "0"]).default("false") });

export const importParams = importParamsSchema.transform((p) => ({ dryRun: p.dryRun === "true" || p.dryRun === "1" }));
