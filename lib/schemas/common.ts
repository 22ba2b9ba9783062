import { z } from "zod";

export const slug = z
  .string()
  .trim()
  .toLowerCase()
  .min(2, "At least 2 characters")
  .max(40, "At most 40 characters")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "Use lowercase letters, digits and dashes");

export const name = z.string().trim().min(1, "Required").max(100, "At most 100 characters");
export const description = z.string().trim().max(1000, "At most 1000 characters");

export const listParams = z.object({
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  q: z.string().trim().max(200).optional(),
});
export type ListParams = z.infer<typeof listParams>;

export type Page<T> = { items: T[]; nextCursor: string | null };

export const idParam = z.object({ id: z.string().min(1).max(64) });

export const riskClasses = ["read", "write", "destructive", "financial"] as const;
export const riskClass = z.enum(riskClasses);
export type RiskClass = z.infer<typeof riskClass>;
