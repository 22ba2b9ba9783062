import { z } from "zod";

/**
 * DLP settings as the config snapshot carries them to gateways: the admin patterns (global) and
 * each portal's action per detector and payload capture mode. Schemas only (no engine), so the
 * snapshot contract stays light.
 */

export const dlpActions = ["redact", "block", "flag"] as const;
export type DlpAction = (typeof dlpActions)[number];
export const captureModes = ["off", "metadata", "full"] as const;
export type CaptureMode = (typeof captureModes)[number];

export const dlpPattern = z.object({
  id: z.string().regex(/^[a-z0-9_]{1,40}$/, "Lowercase letters, digits and underscores"),
  name: z.string().min(1).max(100),
  regex: z.string().min(1).max(1000),
});
export type DlpPattern = z.infer<typeof dlpPattern>;

/** A detector as the audit explorer's filter lists it: a built-in, or an admin pattern's id and name. */
export type DlpDetectorOption = { id: string; label: string; isBuiltIn: boolean };

/** A portal's DLP settings as they travel in the config snapshot (optional: absent = defaults). */
export const portalDlp = z.object({
  /** Per detector (built-in id or admin pattern id); unlisted detectors `redact`. */
  actions: z.record(z.string(), z.enum(dlpActions)).default({}),
  /** off: no arguments or results in the record; metadata: sizes and DLP counts only; full: redacted payloads. */
  capture: z.enum(captureModes).default("full"),
});
export type PortalDlp = z.infer<typeof portalDlp>;

