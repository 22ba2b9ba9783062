import { z } from "zod";
import type { FieldError } from "@/lib/errors";

/**
 * The query string of an /api/v1 operation, checked against the operation's own schema (the one
 * its OpenAPI parameters come from) before the handler runs. A parameter the operation does not
 * take is refused, not ignored: a script that misspells a filter (`server` for `serverId`) would
 * otherwise get an unfiltered answer and act on the wrong records. Each problem names its
 * parameter and what it takes, in words rather than in zod's.
 */
export function queryProblems(schema: z.ZodObject | undefined, search: URLSearchParams): FieldError[] {
  const shape: Record<string, z.ZodType> = schema ? (schema.shape as Record<string, z.ZodType>) : {};
  const known = Object.keys(shape);
  const problems: FieldError[] = [];
  for (const name of new Set(search.keys())) {
    if (!Object.hasOwn(shape, name)) problems.push({ field: name, message: unknownParameter(name, known) });
    else if (search.getAll(name).length > 1) problems.push({ field: name, message: `Query parameter \`${name}\` is given more than once` });
  }
  if (!schema || problems.length) return problems;
  const parsed = schema.safeParse(Object.fromEntries(search));
  if (parsed.success) return [];
  const byField = new Map<string, string>();
  for (const issue of parsed.error.issues) {
    const field = String(issue.path[0] ?? "(query)");
    if (!byField.has(field)) byField.set(field, describeIssue(field, shape[field], issue));
  }
  return [...byField].map(([field, message]) => ({ field, message }));
}

function unknownParameter(name: string, known: string[]): string {
  if (known.length === 0) return `Unknown query parameter \`${name}\` (this operation takes none)`;
  const guess = closest(name, known);
  return guess ? `Unknown query parameter \`${name}\` (did you mean \`${guess}\`?)` : `Unknown query parameter \`${name}\` (this operation takes ${known.map((k) => `\`${k}\``).join(", ")})`;
}

/** A known name the given one is probably a slip of: a case or a few letters off, or a part of it. */
function closest(name: string, known: string[]): string | null {
  const lower = name.toLowerCase();
  let best: { name: string; distance: number } | null = null;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    const distance = other === lower ? 0 : lower.length >= 3 && (other.startsWith(lower) || lower.startsWith(other)) ? 1 : editDistance(lower, other);
    if (distance <= Math.max(1, Math.floor(Math.min(lower.length, other.length) / 3)) && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name ?? null;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = row;
  }
  return previous[b.length]!;
}

type JsonSchema = { type?: string; enum?: unknown[]; minimum?: number; maximum?: number; minLength?: number; maxLength?: number; format?: string };

function describeIssue(field: string, schema: z.ZodType | undefined, issue: z.core.$ZodIssue): string {
  const json = schema ? (z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonSchema) : {};
  if (json.enum) return `${field} must be one of ${json.enum.map(String).join(", ")}`;
  if (json.type === "integer" || json.type === "number") {
    const what = json.type === "integer" ? "a whole number" : "a number";
    if (json.minimum !== undefined && json.maximum !== undefined) return `${field} must be ${what} between ${json.minimum} and ${json.maximum}`;
    if (json.minimum !== undefined) return `${field} must be ${what} of at least ${json.minimum}`;
    if (json.maximum !== undefined) return `${field} must be ${what} of at most ${json.maximum}`;
    return `${field} must be ${what}`;
  }
  if (json.format === "date-time") return `${field} must be a date and time with a zone (ISO 8601, e.g. 2026-12-01T09:00:00Z)`;
  if (issue.code === "too_big" && json.maxLength !== undefined) return `${field} must be at most ${json.maxLength} characters`;
  if (issue.code === "too_small" && json.minLength !== undefined) return `${field} must be at least ${json.minLength} characters`;
  // A refinement's own message (a cursor, an address) is already in words.
  return `${field}: ${issue.message}`;
}
