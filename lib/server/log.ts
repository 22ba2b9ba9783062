import "server-only";

type Level = "debug" | "info" | "warn" | "error";

/** JSON lines on stdout. Callers pass facts, never secrets or tokens. */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (level === "debug" && !process.env.PORTICO_DEBUG) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/**
 * What of an unexpected error may be logged: its kind, code and a bounded message, never a stack
 * trace (the gateway's describeError is the same), nor values a message may quote.
 */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error };
  const code = (error as { code?: unknown }).code;
  const isPrisma = error.name.startsWith("Prisma");
  return {
    error: error.name,
    ...(typeof code === "string" ? { code } : {}),
    // Prisma messages can quote query arguments, which may be encrypted secrets.
    ...(isPrisma ? {} : { detail: error.message.slice(0, 500) }),
  };
}
