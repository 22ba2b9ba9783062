type Level = "debug" | "info" | "warn" | "error";

/** JSON lines, like the control plane's. Callers pass facts, never secrets or tokens. */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (level === "debug" && !process.env.PORTICO_DEBUG) return;
  if (process.env.PORTICO_GATEWAY_QUIET === "1" && level !== "error") return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, component: "gateway", msg: message, ...fields });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/** What of an error may be logged: its kind, code and a bounded message, never a stack of values. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error };
  const code = (error as { code?: unknown }).code;
  return {
    error: error.name,
    ...(typeof code === "string" || typeof code === "number" ? { code } : {}),
    detail: error.message.slice(0, 300),
  };
}
