import "server-only";
import { BUILTIN_DETECTORS, DETECTOR_LABELS } from "@/lib/dlp/detectors";
import type { DlpPattern, PortalDlp } from "@/lib/dlp/policy";
import { testDlpInput, updateDlpInput } from "@/lib/dlp/settings-input";
import { compilePattern, createScanner } from "@/lib/dlp/scan";
import { AppError } from "@/lib/errors";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { DLP_SETTING, readDlpPolicy, type DlpPolicy } from "./dlp-policy";

export type DlpSettingsView = DlpPolicy & { detectors: Array<{ id: string; label: string }> };

export async function getDlpSettings(db: Db, actor: Actor): Promise<DlpSettingsView> {
  authorize(actor, "settings:read");
  const policy = await readDlpPolicy(db);
  return { ...policy, detectors: BUILTIN_DETECTORS.map((id) => ({ id, label: DETECTOR_LABELS[id] })) };
}

/** Every pattern compiles under RE2 and no id is used twice or by a built-in detector (a 422 naming each). */
export function assertDlpPatternsCompile(patterns: DlpPattern[]) {
  const errors = patterns.flatMap((p, i) => {
    try {
      compilePattern(p);
      return [];
    } catch (error) {
      return [{ field: `patterns.${i}.regex`, message: error instanceof Error ? error.message : "Not a valid RE2 expression" }];
    }
  });
  const ids = patterns.map((p) => p.id);
  const dup = ids.find((id, i) => ids.indexOf(id) !== i || (BUILTIN_DETECTORS as readonly string[]).includes(id));
  if (dup) errors.push({ field: "patterns", message: `The id "${dup}" is used twice or by a built-in detector` });
  if (errors.length) throw new AppError("validation_failed", "A DLP pattern is not valid", errors);
}

export async function updateDlpSettings(db: Db, actor: Actor, raw: unknown): Promise<DlpSettingsView> {
  authorize(actor, "settings:write");
  const input = updateDlpInput.parse(raw);
  if (input.patterns) assertDlpPatternsCompile(input.patterns);
  await db.$transaction(async (tx) => {
    const before = await readDlpPolicy(tx);
    const after: DlpPolicy = { patterns: input.patterns ?? before.patterns, portals: { ...before.portals, ...(input.portals ?? {}) } };
    const value = after as unknown as Prisma.InputJsonValue;
    await tx.setting.upsert({ where: { key: DLP_SETTING }, create: { key: DLP_SETTING, value }, update: { value } });
    await recordConfigChange(tx, actor, { action: "dlp.update", targetType: "setting", targetId: DLP_SETTING, before, after });
  });
  return getDlpSettings(db, actor);
}

export type DlpTestMatch = { detector: string; text: string; start: number; end: number };

/** The test box: what each detector (built-ins and the given or saved patterns) finds in a sample. */
export async function testDlp(db: Db, actor: Actor, raw: unknown): Promise<{ matches: DlpTestMatch[]; redacted: string }> {
  authorize(actor, "settings:read");
  const input = testDlpInput.parse(raw);
  const given = input.patterns ?? (await readDlpPolicy(db)).patterns;
  // Checked whole (a blank expression compiles), so an error names the row the form shows; blank rows are then left out.
  assertDlpPatternsCompile(given);
  const scanner = createScanner({ patterns: given.filter((p) => p.regex.trim() !== "") });
  const matches = scanner.detectors.flatMap((d) => d.find(input.text).map((m) => ({ detector: d.id, text: input.text.slice(m.start, m.end), start: m.start, end: m.end })));
  matches.sort((a, b) => a.start - b.start);
  return { matches, redacted: scanner.scan(input.text, "sample").value as string };
}

export type { PortalDlp };
