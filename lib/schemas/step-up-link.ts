import { z } from "zod";
import { riskClass, slug, text } from "./common";
import { serverSlug } from "./server";

/**
 * The query of the link a gateway puts in a tool error or URL elicitation for clients that cannot
 * re-authorize (`gateway/stages/decide.ts` → `/step-up/new?portal=…&risk=…&server=…&tool=…&args=…`).
 * `args` is the call's arguments as JSON, for a role that approves the risk class call by call.
 */
const linkArguments = z
  .string()
  .max(4000)
  .transform((raw, ctx) => {
    try {
      const value: unknown = JSON.parse(raw);
      if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // reported below
    }
    ctx.addIssue({ code: "custom", message: "not a JSON object" });
    return z.NEVER;
  });

export const stepUpLinkParams = z.object({
  portal: slug,
  risk: riskClass,
  server: serverSlug.optional(),
  tool: text().trim().min(1).max(256).optional(),
  args: linkArguments.optional(),
  /**
   * The request this page filed or waited for, which the page writes into its own URL: after a
   * reload it shows that request's state (denied with the note, approved, expired), not a blank
   * form. A garbled id is dropped, not reported: the link itself still works.
   */
  request: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/)
    .optional()
    .catch(undefined),
});
export type StepUpLinkParams = z.infer<typeof stepUpLinkParams>;

const FIELD_TEXT: Record<string, string> = { portal: "portal", risk: "risk class", server: "server", tool: "tool", args: "call's arguments" };

/** The link's query, parsed; or, for a link that lost or garbled its query, what is missing or wrong. */
export function parseStepUpLink(query: Record<string, string | string[] | undefined>): { ok: true; link: StepUpLinkParams } | { ok: false; problems: string[] } {
  const flat = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = stepUpLinkParams.safeParse(flat);
  if (parsed.success) return { ok: true, link: parsed.data };
  const problems = new Set<string>();
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? "");
    const what = FIELD_TEXT[field] ?? field;
    problems.add(flat[field] === undefined ? `The link does not name the ${what} (“${field}”).` : `The ${what} in the link (“${field}”) ${field === "args" ? "are" : "is"} not valid.`);
  }
  return { ok: false, problems: [...problems] };
}
