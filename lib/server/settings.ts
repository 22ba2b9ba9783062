import "server-only";
import { AppError } from "@/lib/errors";
import { settingsSchema, updateSettingsInput, type Settings } from "@/lib/schemas/settings";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { assertAllowedUpstream } from "./url-guard";

/** Settings without an authorization check, for internal use (e.g. the URL guard). */
export async function readSettings(db: Db): Promise<Settings> {
  const rows = await db.setting.findMany();
  return settingsSchema.parse(Object.fromEntries(rows.map((r) => [r.key, r.value])));
}

export async function getSettings(db: Db, actor: Actor): Promise<Settings> {
  authorize(actor, "settings:read");
  return readSettings(db);
}

/**
 * Payloads live on MCP request metadata rows: the purge deletes the row, payload and all, when
 * the metadata's time is up, so payloads "kept" longer would be a promise the log cannot keep.
 * Refused (on the field the admin changed) rather than clamped, so nothing is saved that differs
 * from what they typed. Checked only when a retention figure changes, so a setting stored before
 * this rule cannot block unrelated changes.
 */
function assertPayloadsWithinMetadata(before: Settings, input: Partial<Pick<Settings, "retentionPayloadDays" | "retentionMcpDays">>) {
  if (input.retentionPayloadDays == null && input.retentionMcpDays == null) return;
  const payloads = input.retentionPayloadDays ?? before.retentionPayloadDays;
  const metadata = input.retentionMcpDays ?? before.retentionMcpDays;
  if (payloads <= metadata) return;
  const field = input.retentionPayloadDays != null ? "retentionPayloadDays" : "retentionMcpDays";
  const message =
    field === "retentionPayloadDays"
      ? `Payloads are kept on MCP request metadata, which is kept ${metadata} days: keep payloads ${metadata} days or fewer`
      : `MCP payloads are kept ${payloads} days and live on this metadata: keep it at least ${payloads} days, or shorten payloads first`;
  throw new AppError("validation_failed", "MCP payloads cannot be kept longer than their request metadata", [{ field, message }]);
}

export async function updateSettings(db: Db, actor: Actor, raw: unknown): Promise<Settings> {
  authorize(actor, "settings:write");
  const input = updateSettingsInput.parse(raw);
  // The approver webhook is called by the control plane: the same SSRF guard as servers and alert channels.
  if (input.approverWebhookUrl) {
    const allowPrivateTargets = input.allowPrivateTargets ?? (await readSettings(db)).allowPrivateTargets;
    await assertAllowedUpstream(input.approverWebhookUrl, { allowPrivateTargets }).catch((error: unknown) => {
      const fields = (error as { fieldErrors?: { field: string; message: string }[] }).fieldErrors?.map((f) => ({ ...f, field: "approverWebhookUrl" }));
      throw new AppError("validation_failed", (error as Error).message, fields);
    });
  }
  return db.$transaction(async (tx) => {
    const before = settingsSchema.parse(Object.fromEntries((await tx.setting.findMany()).map((r) => [r.key, r.value])));
    assertPayloadsWithinMetadata(before, input);
    for (const [key, value] of Object.entries(input)) {
      // A cleared setting (null) is its default again: the row goes.
      if (value === null) await tx.setting.deleteMany({ where: { key } });
      else await tx.setting.upsert({ where: { key }, create: { key, value }, update: { value } });
    }
    const after = { ...before, ...input };
    await recordConfigChange(tx, actor, { action: "settings.update", targetType: "settings", targetId: "global", before, after });
    return after;
  });
}
