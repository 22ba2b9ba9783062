import { z } from "zod";
import { text } from "./common";

export const trafficRangeValues = ["1h", "6h", "24h", "7d", "30d"] as const;

/** The overview charts' filters: a time range and, optionally, one portal. */
export const dashboardQuery = z.object({
  range: z.enum(trafficRangeValues).default("24h"),
  portal: text().trim().max(128).optional(),
  format: z.enum(["json", "csv"]).optional(),
});
