import { z } from "zod";

export const listAuditParams = z.object({
  cursor: z.string().regex(/^\d{1,20}$/, "Not a valid cursor").optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  kind: z.string().max(64).optional(),
  outcome: z.enum(["allow", "deny", "success", "failure"]).optional(),
  actor: z.string().max(320).optional(),
  q: z.string().trim().max(200).optional(),
});

export type AuditEventView = {
  id: string;
  seq: string;
  time: string;
  kind: string;
  actorType: string;
  actorId: string | null;
  actorLabel: string | null;
  action: string;
  outcome: string;
  targetType: string | null;
  targetId: string | null;
  portal: string | null;
  server: string | null;
  tool: string | null;
  reasons: string[] | null;
  data: unknown;
  sourceIp: string | null;
  requestId: string | null;
};
