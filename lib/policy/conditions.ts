import ipaddr from "ipaddr.js";
import { z } from "zod";

/**
 * Conditions attached to a portal role. Part of the contract with the gateway: the control plane
 * stores them, the policy evaluator (shared by gateway and dashboard) enforces them.
 */

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "Use HH:MM (24-hour)");

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const timeWindow = z
  .object({
    /** ISO weekdays: 1 = Monday … 7 = Sunday. */
    days: z.array(z.number().int().min(1).max(7)).min(1, "Pick at least one day").max(7),
    start: hhmm,
    end: hhmm,
    timeZone: z.string().refine(isTimeZone, "Unknown time zone"),
  })
  .refine((w) => w.start !== w.end, { message: "Start and end must differ", path: ["end"] });
export type TimeWindow = z.infer<typeof timeWindow>;

export const cidr = z
  .string()
  .trim()
  .refine((value) => {
    try {
      ipaddr.parseCIDR(value);
      return true;
    } catch {
      return false;
    }
  }, "Not a CIDR range such as 10.0.0.0/8 or 2001:db8::/32");

export const roleConditions = z.object({
  timeWindows: z.array(timeWindow).max(20).default([]),
  networks: z.array(cidr).max(200).default([]),
  mfaRequired: z.boolean().default(false),
  /** The furthest back a cost query may look, in days; null for no limit. */
  maxLookbackDays: z.number().int().min(1).max(3650).nullable().default(null),
});
export type RoleConditions = z.infer<typeof roleConditions>;
