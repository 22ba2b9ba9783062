import { z } from "zod";

export const settingsSchema = z.object({
  /** Lets admins register upstreams on link-local or cloud-metadata addresses (off: SSRF guard). */
  allowPrivateTargets: z.boolean().default(false),
});
export type Settings = z.infer<typeof settingsSchema>;

export const updateSettingsInput = settingsSchema.partial().refine((v) => Object.keys(v).length > 0, "Nothing to update");
