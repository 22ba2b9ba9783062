/**
 * Whether a portal offers a tool. Shared by the dashboard and the config snapshot so that both
 * say the same thing.
 */
export function isToolOffered(input: {
  serverEnabled: boolean;
  toolState: string;
  /** The portal's explicit toggle for this tool, if any. */
  toggle: boolean | null;
  allowlistMode: boolean;
}): boolean {
  if (!input.serverEnabled || input.toolState !== "active") return false;
  return input.toggle ?? !input.allowlistMode;
}

/** The admin's intent for a tool, before server toggles and drift are taken into account. */
export const isToolSwitchedOn = (toggle: boolean | null, allowlistMode: boolean) => toggle ?? !allowlistMode;
