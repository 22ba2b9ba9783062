import "server-only";
import { ZodError } from "zod";
import { AppError, type FieldError } from "@/lib/errors";
import { Prisma } from "@/lib/generated/prisma/client";

export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({ field: issue.path.join(".") || "(body)", message: issue.message }));
}

/** Maps any error to the AppError a client may see. */
export function toAppError(error: unknown): AppError | null {
  if (error instanceof AppError) return error;
  if (error instanceof ZodError) return new AppError("validation_failed", "The request is not valid", zodFieldErrors(error));
  if (error instanceof Prisma.PrismaClientKnownRequestError) {
    if (error.code === "P2002") {
      const target = (error.meta?.target as string[] | string | undefined) ?? (error.meta?.driverAdapterError as { cause?: { constraint?: { fields?: string[] } } } | undefined)?.cause?.constraint?.fields;
      const fields = Array.isArray(target) ? target : target ? [target] : [];
      return new AppError(
        "conflict",
        fields.length ? `Another record already uses this ${fields.join(", ")}` : "That record already exists",
        fields.map((f) => ({ field: f.replace(/"/g, ""), message: "Already in use" })),
      );
    }
    if (error.code === "P2025") return new AppError("not_found", "Not found");
    if (error.code === "P2003") return new AppError("validation_failed", "A referenced record does not exist");
    // The schemas refuse such text by field (lib/schemas/common.ts `text`); this covers any value
    // that reaches a query another way, so it is a 422, never a 500.
    if (error.code === "P2039") return new AppError("validation_failed", "A value contains a character that cannot be stored (NUL or an unpaired surrogate)");
  }
  return null;
}
