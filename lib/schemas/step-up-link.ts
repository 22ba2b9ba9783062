import { z } from "zod";
import { riskClass, slug, text } from "./common";
import { serverSlug } from "./server";

/**
 * The query of the link a gateway puts in a tool error for clients that cannot re-authorize
 * (`gateway/stages/decide.ts` → `/step-up/new?portal=…&risk=…&server=…&tool=…`).
 */
export const stepUpLinkParams = z.object({
  portal: slug,
  risk: riskClass,
  server: serverSlug.optional(),
  tool: text().trim().min(1).max(256).optional(),
});
export type StepUpLinkParams = z.infer<typeof stepUpLinkParams>;

const FIELD_TEXT: Record<string, string> = { portal: "portal", risk: "risk class", server: "server", tool: "tool" };

/** The link's query, parsed; or, for a link that lost or garbled its query, what is missing or wrong. */
export function parseStepUpLink(query: Record<string, string | string[] | undefined>): { ok: true; link: StepUpLinkParams } | { ok: false; problems: string[] } {
  const flat = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = stepUpLinkParams.safeParse(flat);
  if (parsed.success) return { ok: true, link: parsed.data };
  const problems = new Set<string>();
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? "");
    const what = FIELD_TEXT[field] ?? field;
    problems.add(flat[field] === undefined ? `The link does not name the ${what} (“${field}”).` : `The ${what} in the link (“${field}”) is not valid.`);
  }
  return { ok: false, problems: [...problems] };
}
