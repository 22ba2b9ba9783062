import { z } from "zod";
import { name, text } from "./common";

export const logDestinationKinds = ["https", "splunk_hec"] as const;

/** Audit events carry payloads: they leave only over TLS. */
const httpsUrl = text()
  .trim()
  .max(2000)
  .refine((v) => URL.canParse(v) && new URL(v).protocol === "https:", "Use an https:// URL");

export const createLogDestinationInput = z.strictObject({
  name,
  kind: z.enum(logDestinationKinds),
  url: httpsUrl,
  /** The HMAC key (https) or the HEC token (splunk_hec). */
  secret: text().min(16, "At least 16 characters").max(512),
  enabled: z.boolean().default(true),
  /** Stream from the next event (default) or from the oldest event still stored. */
  startFrom: z.enum(["now", "beginning"]).default("now"),
});
export type CreateLogDestinationInput = z.infer<typeof createLogDestinationInput>;

export const updateLogDestinationInput = z
  .strictObject({ name: name.optional(), url: httpsUrl.optional(), secret: text().min(16, "At least 16 characters").max(512).optional(), enabled: z.boolean().optional() })
  .refine((v) => Object.keys(v).length > 0, "Nothing to update");

export type LogDestinationView = {
  id: string;
  name: string;
  kind: (typeof logDestinationKinds)[number];
  url: string;
  enabled: boolean;
  /**
   * The last seq the destination acknowledged; null until it has acknowledged a batch. A new
   * destination starts after the log's head ("from now on") or from the beginning, so its cursor
   * alone does not mean anything was delivered.
   */
  lastDeliveredSeq: string | null;
  /** The cursor: the next batch starts after this seq. */
  nextAfterSeq: string;
  lastDeliveredAt: string | null;
  /** Events stored after the cursor (capped: "100000+" is shown as such). */
  lagEvents: number;
  isLagCapped: boolean;
  failures: number;
  lastError: string | null;
  lastErrorAt: string | null;
  nextAttemptAt: string;
  createdAt: string;
};
