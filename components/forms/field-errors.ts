import type { ZodError } from "zod";

import { ApiError } from "@/lib/api/client";

/** A form's errors: the message per field, plus `form` for what belongs to no one field. */
export type FieldErrors = Record<string, string>;

/**
 * `{ field: message }` from a zod error, first message per field, like `ApiError.fieldMap()`. A field
 * is the issue's top-level key ("serverIds" for `serverIds.2`), or with `nested` its whole dotted path
 * ("credential.ref"); an issue about the whole value goes to `form`.
 */
export function zodFieldErrors(error: ZodError, { nested = false }: { nested?: boolean } = {}): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = nested ? issue.path.join(".") : issue.path.length ? String(issue.path[0]) : "";
    errors[field || "form"] ??= issue.message;
  }
  return errors;
}

/** The errors a failed save shows: the API's message for the form, with its field errors when it names fields. */
export function fieldErrorsFrom(error: unknown): FieldErrors {
  const message = error instanceof Error ? error.message : "Something went wrong. Please try again.";
  if (error instanceof ApiError && error.fieldErrors.length) return { ...error.fieldMap(), form: message };
  return { form: message };
}
