import { z } from "zod";
import { UNSTORABLE_TEXT_MESSAGE, isStorableText } from "@/lib/storable-text";

/**
 * Every string a write body may carry: the database refuses NUL and garbles unpaired surrogates,
 * so they are a 422 naming the field (and a message beside it in the form), never a 500.
 * `abort` stops the field's other checks, which would only add noise.
 */
export const text = () => z.string().refine(isStorableText, { message: UNSTORABLE_TEXT_MESSAGE, abort: true });

export const slug = text()
  .trim()
  .toLowerCase()
  .min(2, "At least 2 characters")
  .max(40, "At most 40 characters")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "Use lowercase letters, digits and dashes");

export const name = text().trim().min(1, "Required").max(100, "At most 100 characters");
export const description = text().trim().max(1000, "At most 1000 characters");

export const listParams = z.object({
  cursor: text().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(100).default(50),
  q: text().trim().max(200).optional(),
});
export type ListParams = z.infer<typeof listParams>;

export type Page<T> = { items: T[]; nextCursor: string | null };

export const idParam = z.object({ id: text().min(1).max(64) });

export const riskClasses = ["read", "write", "destructive", "financial"] as const;
export const riskClass = z.enum(riskClasses);
export type RiskClass = z.infer<typeof riskClass>;
