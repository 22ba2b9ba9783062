import { ZodError } from "zod";

import { AppError } from "@/lib/errors";
import type { Page } from "@/lib/schemas/common";

// For the list pages' server components, which load the first page the table shows.

/** One URL search param as the list APIs take it: a single non-empty value, or undefined. */
export function searchParam(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * Loads the first page. A hand-edited URL (unknown filter value, stale cursor) gives an empty page
 * and a message for the table rather than an error page; any other failure still throws.
 */
export async function loadInitialPage<T>(load: () => Promise<Page<T>>): Promise<{ page: Page<T>; error?: string }> {
  try {
    return { page: await load() };
  } catch (e) {
    const empty: Page<T> = { items: [], nextCursor: null };
    if (e instanceof AppError && e.status < 500) return { page: empty, error: e.message };
    if (e instanceof ZodError) return { page: empty, error: "The filters in the address are not valid." };
    throw e;
  }
}

/**
 * Loads the page at `params`; a stale or hand-edited cursor is not worth an error page, so that one
 * loads the first page instead. Returns the params actually used, for the table's query key.
 */
export async function loadPageOrFirst<P extends { cursor?: string }, R>(params: P, load: (params: P) => Promise<R>): Promise<{ params: P; page: R }> {
  try {
    return { params, page: await load(params) };
  } catch (error) {
    if (!(error instanceof AppError && error.code === "bad_request" && params.cursor)) throw error;
    const first = { ...params, cursor: undefined };
    return { params: first, page: await load(first) };
  }
}
