import "server-only";

import { BUILT_IN_RULES } from "@/lib/alerts/rules";
import type { Db } from "../db/client";
import { startAlertChecks } from "./checks";
import { startDeliveryWorker } from "./deliveries";
import { installAlertEngine, uninstallAlertEngine, type AlertEngine } from "./engine";

/**
 * The built-in rules as rows, added when missing and never overwritten: an admin's thresholds
 * and toggles survive restarts and upgrades.
 */
export async function ensureBuiltInAlertRules(db: Db): Promise<void> {
  await db.alertRule.createMany({
    data: BUILT_IN_RULES.map((r) => ({ key: r.key, detector: r.detector, name: r.name, description: r.description, severity: r.severity, enabled: r.enabled, params: r.params as object })),
    skipDuplicates: true,
  });
}

/**
 * Everything alerting runs in the control plane: the engine the ingest paths feed, the schedule
 * for state rules, and the delivery worker. Returns a stop function.
 */
export async function startAlerting(db: Db, options: { checkIntervalMs?: number; deliveryIntervalMs?: number } = {}): Promise<{ engine: AlertEngine; stop: () => void }> {
  await ensureBuiltInAlertRules(db);
  const engine = installAlertEngine(db);
  await engine.start();
  const stopChecks = startAlertChecks(db, options.checkIntervalMs);
  const stopWorker = startDeliveryWorker(db, options.deliveryIntervalMs);
  return {
    engine,
    stop: () => {
      stopChecks();
      stopWorker();
      uninstallAlertEngine();
    },
  };
}
