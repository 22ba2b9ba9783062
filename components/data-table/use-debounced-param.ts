"use client";

import { useEffect, useRef, useState } from "react";

import type { useTableSearchParams } from "@/components/data-table/use-table-search-params";

/**
 * A text box bound to one URL param: what is typed shows at once and reaches the URL `debounceMs`
 * later, replacing the history entry (one entry per search, not one per keystroke). A change of the
 * URL from outside (Back, Reset, a link) shows in the box without clobbering typing in progress.
 * With `key` null the box is bound to nothing.
 */
export function useDebouncedParam(table: Pick<ReturnType<typeof useTableSearchParams>, "get" | "setParam">, key: string | null, debounceMs = 300) {
  const urlValue = key ? (table.get(key) ?? "") : "";
  const [value, setValue] = useState(urlValue);
  const [seenUrlValue, setSeenUrlValue] = useState(urlValue);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  if (urlValue !== seenUrlValue) {
    setSeenUrlValue(urlValue);
    if (urlValue !== value.trim()) setValue(urlValue);
  }

  useEffect(() => () => clearTimeout(timer.current), []);

  const onChange = (next: string) => {
    setValue(next);
    clearTimeout(timer.current);
    if (!key) return;
    timer.current = setTimeout(() => table.setParam(key, next.trim() || null, { replace: true }), debounceMs);
  };

  /** Empties the box and drops a pending update; clearing the URL is the caller's. */
  const clear = () => {
    clearTimeout(timer.current);
    setValue("");
  };

  return { value, onChange, clear };
}
