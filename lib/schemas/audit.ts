import { z } from "zod";
import { text } from "./common";

export const listAuditParams = z.object({
  cursor: text().regex(/^\d{1,20}$/, "Not a valid cursor").optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  kind: text().max(64).optional(),
  outcome: z.enum(["allow", "deny", "success", "failure"]).optional(),
  actor: text().max(320).optional(),
  q: text().trim().max(200).optional(),
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
