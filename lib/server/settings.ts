import "server-only";
import { settingsSchema, updateSettingsInput, type Settings } from "@/lib/schemas/settings";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";

/** Settings without an authorization check, for internal use (e.g. the URL guard). */
export async function readSettings(db: Db): Promise<Settings> {
  const rows = await db.setting.findMany();
  return settingsSchema.parse(Object.fromEntries(rows.map((r) => [r.key, r.value])));
}

export async function getSettings(db: Db, actor: Actor): Promise<Settings> {
  authorize(actor, "settings:read");
  return readSettings(db);
}

export async function updateSettings(db: Db, actor: Actor, raw: unknown): Promise<Settings> {
  authorize(actor, "settings:write");
  const input = updateSettingsInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = settingsSchema.parse(Object.fromEntries((await tx.setting.findMany()).map((r) => [r.key, r.value])));
    for (const [key, value] of Object.entries(input)) {
      await tx.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
    }
    const after = { ...before, ...input };
    await recordConfigChange(tx, actor, { action: "settings.update", targetType: "settings", targetId: "global", before, after });
    return after;
  });
}
