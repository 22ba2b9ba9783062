import { slugify as slugifyTo } from "@/lib/slugify";

/** A slug suggestion from a display name; the result still goes through the slug schema. */
export const slugify = (name: string) => slugifyTo(name, 40);
