import { z } from "zod";
import { listParams, riskClass, slug, text, type RiskClass } from "./common";
import { serverSlug } from "./server";

/**
 * Step-up requests and elevated grants: the shapes the API, the dashboard and the authorization
 * page share. A request is for a risk class on one portal for a time window, or (when the role
 * says the risk class is approved call by call) for one tool call with its exact arguments.
 */

/** The windows a requester can pick; a role's `stepUpMaxMinutes` cuts the list. */
export const stepUpDurations = [15, 30, 60] as const;
export const stepUpStatuses = ["pending", "approved", "denied", "expired", "withdrawn"] as const;
export type StepUpStatus = (typeof stepUpStatuses)[number];
export const grantStatuses = ["active", "ended", "revoked", "used"] as const;
export type GrantStatus = (typeof grantStatuses)[number];

/** How long a per-call approval stays usable: long enough to retry the call, short enough not to linger. */
export const PER_CALL_GRANT_MINUTES = 15;

export const reason = text().trim().min(3, "Say why you need it (at least 3 characters)").max(1000, "At most 1000 characters");

export const createStepUpRequestInput = z.object({
  portal: slug,
  riskClass,
  server: serverSlug.optional(),
  tool: text().trim().min(1).max(256).optional(),
  /** Per-call requests only: the exact arguments the approver sees and the grant is bound to. */
  arguments: z.record(z.string(), z.unknown()).optional(),
  reason,
  durationMinutes: z.coerce
    .number()
    .int()
    .refine((m) => (stepUpDurations as readonly number[]).includes(m), "Pick 15, 30 or 60 minutes"),
});
export type CreateStepUpRequestInput = z.input<typeof createStepUpRequestInput>;

export const approveStepUpRequestInput = z.object({
  /** Shorter than asked, never longer. Omitted: as asked. */
  durationMinutes: z.coerce.number().int().min(1, "At least 1 minute").max(60, "At most 60 minutes").optional(),
  note: text().trim().max(1000, "At most 1000 characters").optional(),
});
export type ApproveStepUpRequestInput = z.input<typeof approveStepUpRequestInput>;

export const denyStepUpRequestInput = z.object({
  note: text().trim().min(3, "Tell the requester why (at least 3 characters)").max(1000, "At most 1000 characters"),
});
export type DenyStepUpRequestInput = z.input<typeof denyStepUpRequestInput>;

/**
 * `mine=1`: only the caller's own, whatever their role (the My access page; a manager's own
 * requests are otherwise mixed into the queue, and a viewer may list no one's grants but their own).
 */
const mine = z
  .enum(["1", "true", "0", "false"])
  .optional()
  .transform((v) => v === "1" || v === "true");

export const listStepUpRequestsParams = listParams.extend({
  status: z.enum(stepUpStatuses).optional(),
  mine,
});
export const listElevatedGrantsParams = listParams.extend({
  status: z.enum(grantStatuses).optional(),
  mine,
});

export type RecentActivity = { time: string; tool: string | null; outcome: string; reasons: string[] };

export type StepUpRequestView = {
  id: string;
  requester: { kind: "user" | "service_account"; id: string; label: string };
  portal: { id: string; slug: string; name: string };
  role: { id: string; slug: string; name: string };
  riskClass: RiskClass;
  server: string | null;
  tool: string | null;
  isPerCall: boolean;
  arguments: Record<string, unknown> | null;
  reason: string;
  durationMinutes: number;
  status: StepUpStatus;
  createdAt: string;
  expiresAt: string;
  decidedBy: string | null;
  decidedAt: string | null;
  decisionNote: string | null;
  grantId: string | null;
  /**
   * On one approved request read by itself, while its grant is active: whether every live gateway
   * runs it yet. Until then a call is still refused, so nobody should be told to retry.
   */
  isInForce?: boolean;
  /** For the one reading it: may they approve or deny it (and if not, why)? */
  canDecide: boolean;
  cannotDecideReason: string | null;
  /** For approvers, on pending requests: the requester's last calls and denials on the portal. */
  recentActivity?: RecentActivity[];
};

export type ElevatedGrantView = {
  id: string;
  requestId: string;
  principal: { kind: "user" | "service_account"; id: string; label: string };
  portalSlug: string;
  riskClass: RiskClass;
  server: string | null;
  tool: string | null;
  isPerCall: boolean;
  startsAt: string;
  endsAt: string;
  status: GrantStatus;
  useCount: number;
  lastUsedAt: string | null;
  approvedBy: string | null;
  revokedBy: string | null;
  revokedAt: string | null;
};
