import "server-only";
import { z } from "zod";
import { BUILTIN_DETECTORS, DETECTOR_LABELS } from "@/lib/dlp/detectors";
import { dlpPattern, portalDlp, type DlpDetectorOption } from "@/lib/dlp/policy";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";

type Tx = Prisma.TransactionClient;

// Kept apart from ./dlp (which loads the RE2 engine): config publishing reads the policy only.

/**
 * DLP settings, kept in the `Setting` table under `dlp.policy`: the admin patterns and each
 * portal's actions and capture mode. They reach gateways on the next config snapshot (a write to
 * /api/v1/settings/* publishes one).
 */
export const DLP_SETTING = "dlp.policy";

export const dlpPolicy = z.object({
  patterns: z.array(dlpPattern).max(50).default([]),
  /** By portal slug. */
  portals: z.record(z.string(), portalDlp).default({}),
});
export type DlpPolicy = z.infer<typeof dlpPolicy>;

export async function readDlpPolicy(db: Tx | Db): Promise<DlpPolicy> {
  const row = await db.setting.findUnique({ where: { key: DLP_SETTING } });
  const parsed = dlpPolicy.safeParse(row?.value ?? {});
  // A stored value this version cannot read is treated as the defaults rather than breaking publishing.
  return parsed.success ? parsed.data : { patterns: [], portals: {} };
}


/**
 * The detectors an audit reader can filter by: the built-ins, then the admin's patterns (id and
 * name only, never the expression). Anyone who reads the audit log sees these ids on its events.
 */
export async function listDlpDetectorOptions(db: Db, actor: Actor): Promise<DlpDetectorOption[]> {
  authorize(actor, "audit:read");
  const { patterns } = await readDlpPolicy(db);
  return [
    ...BUILTIN_DETECTORS.map((id) => ({ id, label: DETECTOR_LABELS[id], isBuiltIn: true })),
    ...patterns.map((p) => ({ id: p.id, label: p.name, isBuiltIn: false })),
  ];
}
