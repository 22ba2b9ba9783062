import ipaddr from "ipaddr.js";
import { z } from "zod";
import { slug, text } from "./common";
import { createRoleInput } from "./role";

const group = text().trim().min(1).max(200);

/** Who is asking: a user (by email, with their IdP groups unless given), a set of IdP groups, or a service account. */
export const explainPrincipal = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("user"), email: text().trim().toLowerCase().pipe(z.email("Not an email address")), groups: z.array(group).max(100).optional() }),
  z.object({ kind: z.literal("groups"), groups: z.array(group).min(1, "Name at least one group").max(100) }),
  z.object({ kind: z.literal("service_account"), clientId: text().trim().min(1).max(100) }),
]);
export type ExplainPrincipal = z.infer<typeof explainPrincipal>;

export const explainInput = z.object({
  principal: explainPrincipal,
  portal: slug,
  /** The tool as clients see it (`<server>_<tool>` or its alias). */
  tool: text().trim().min(1).max(256),
  /** When the call would happen; default now. */
  at: z.iso.datetime({ offset: true }).optional(),
  sourceIp: text()
    .trim()
    .refine((v) => ipaddr.isValid(v), "Not an IP address")
    .nullable()
    .default(null),
  mfa: z.boolean().default(false),
  /** A config version to ask about; default the latest. */
  version: z.number().int().positive().optional(),
});
export type ExplainInput = z.input<typeof explainInput>;

export const simulateInput = z.object({
  /** What to compare the live policy with: an unsaved role edit (as the role form holds it) or an older version. */
  against: z.discriminatedUnion("kind", [
    z.object({ kind: z.literal("draft_role"), roleId: text().min(1).max(64).nullable().default(null), role: createRoleInput }),
    z.object({ kind: z.literal("version"), version: z.number().int().positive() }),
  ]),
  /** How far back to replay audited calls. */
  days: z.number().int().min(1).max(90).default(30),
  /** Optionally, the explainer's question asked against the draft too. */
  question: explainInput.omit({ version: true }).optional(),
});
export type SimulateInput = z.input<typeof simulateInput>;
