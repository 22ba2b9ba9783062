import "server-only";

type Level = "debug" | "info" | "warn" | "error";

/** JSON lines on stdout. Callers pass facts, never secrets or tokens. */
export function log(level: Level, message: string, fields: Record<string, unknown> = {}): void {
  if (level === "debug" && !process.env.PORTICO_DEBUG) return;
  const line = JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields });
  if (level === "error" || level === "warn") console.error(line);
  else console.log(line);
}

/** What of an unexpected error may be logged: its kind and code, not values it may quote. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { error: typeof error };
  const code = (error as { code?: unknown }).code;
  const isPrisma = error.name.startsWith("Prisma");
  return {
    error: error.name,
    ...(typeof code === "string" ? { code } : {}),
    // Prisma messages can quote query arguments, which may be encrypted secrets.
    ...(isPrisma ? {} : { detail: error.message.slice(0, 500), stack: error.stack?.split("\n").slice(1, 6).join("\n") }),
  };
}
