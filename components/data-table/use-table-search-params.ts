"use client";

import { useTransition } from "react";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { searchParamsTrail } from "@/lib/search-params-trail";

/** The opaque cursor of the page being shown; absent on the first page. */
export const CURSOR_PARAM = "cursor";
/** Cursors of the pages before the current one (first page excluded), oldest first, comma separated. */
export const CURSOR_STACK_PARAM = "cursors";
/** Sort column id and direction ("asc" | "desc"). */
export const SORT_PARAM = "sort";
export const ORDER_PARAM = "order";

// Bounds the URL length; past it, "Previous" walks back as far as it remembers and then to page one.
const MAX_STACK = 50;

type ParamValue = string | null | undefined;
type NavigateOptions = { replace?: boolean };

function readStack(params: URLSearchParams): string[] {
  const raw = params.get(CURSOR_STACK_PARAM);
  if (!raw) return [];
  return raw
    .split(",")
    .filter(Boolean)
    .map((entry) => {
      try {
        return decodeURIComponent(entry);
      } catch {
        return entry;
      }
    });
}

function writeStack(params: URLSearchParams, stack: readonly string[]): void {
  const kept = stack.slice(-MAX_STACK);
  if (kept.length === 0) params.delete(CURSOR_STACK_PARAM);
  // Entries are encoded so that a cursor containing a comma cannot split in two.
  else params.set(CURSOR_STACK_PARAM, kept.map(encodeURIComponent).join(","));
}

function resetPagination(params: URLSearchParams): void {
  params.delete(CURSOR_PARAM);
  params.delete(CURSOR_STACK_PARAM);
}

/**
 * Table state (filters, search, sort, cursor pagination) lives in the URL, so a filtered view can be
 * shared, bookmarked and reloaded, and the server component can read the same params for the first
 * paint. Any change other than paging goes back to the first page: an old cursor belongs to the old
 * result set.
 */
export function useTableSearchParams() {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const [isPending, startTransition] = useTransition();

  const navigate = (mutate: (next: URLSearchParams) => void, { replace = false }: NavigateOptions = {}) => {
    // The live URL, not this render's snapshot (a debounced call may fire after another
    // navigation), or the newest URL asked for when that has not landed yet: two changes less
    // than a navigation apart must both stay (lib/search-params-trail.ts).
    const base = searchParamsTrail.base(`${window.location.pathname}${window.location.search}`);
    const next = new URLSearchParams(base.includes("?") ? base.slice(base.indexOf("?")) : "");
    mutate(next);
    const query = next.toString();
    const href = query ? `${pathname}?${query}` : pathname;
    searchParamsTrail.navigated(base, href);
    startTransition(() => {
      if (replace) router.replace(href, { scroll: false });
      else router.push(href, { scroll: false });
    });
  };

  /** Sets (or, for null/undefined/"", removes) several params at once and returns to the first page. */
  const setParams = (updates: Record<string, ParamValue>, options?: NavigateOptions) =>
    navigate((next) => {
      for (const [key, value] of Object.entries(updates)) {
        if (value === null || value === undefined || value === "") next.delete(key);
        else next.set(key, value);
      }
      resetPagination(next);
    }, options);

  const setParam = (key: string, value: ParamValue, options?: NavigateOptions) => setParams({ [key]: value }, options);

  /** Goes to the page at `cursor` (remembering the current one for "Previous"); null goes to page one. */
  const setCursor = (cursor: string | null) =>
    navigate((next) => {
      if (cursor === null) {
        resetPagination(next);
        return;
      }
      const current = next.get(CURSOR_PARAM);
      if (current) writeStack(next, [...readStack(next), current]);
      next.set(CURSOR_PARAM, cursor);
    });

  const previousPage = () =>
    navigate((next) => {
      const stack = readStack(next);
      const previous = stack.pop();
      writeStack(next, stack);
      if (previous) next.set(CURSOR_PARAM, previous);
      else next.delete(CURSOR_PARAM);
    });

  const stackDepth = readStack(new URLSearchParams(params.toString())).length;
  const hasPreviousPage = params.has(CURSOR_PARAM);

  return {
    /** The current search params (read-only). */
    params,
    /** A plain object of the current params, handy for a query key: `serverKeys.list(query)`. */
    query: Object.fromEntries(params.entries()) as Record<string, string>,
    get: (key: string) => params.get(key),
    setParam,
    setParams,
    setCursor,
    nextPage: (nextCursor: string) => setCursor(nextCursor),
    previousPage,
    hasPreviousPage,
    /** 0-based index of the page shown, as far as the remembered stack goes. */
    pageIndex: hasPreviousPage ? stackDepth + 1 : 0,
    /** True while a navigation started here is in flight. */
    isPending,
  };
}
