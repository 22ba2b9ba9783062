"use client";

import { useSyncExternalStore } from "react";

import { formatDateTime } from "@/lib/format";

const utcFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

const noop = () => () => {};

/**
 * False while the server renders and while React hydrates, true after: the server does not know
 * the viewer's time zone, so anything zone-dependent waits for this to be true.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    noop,
    () => true,
    () => false,
  );
}

/**
 * A date and time in the viewer's time zone. The server (and hydration) render it in UTC, labelled
 * so, inside a `<time dateTime>`, and the browser swaps in its own zone right after hydrating:
 * formatting in the server's zone gave a different text than the browser's (React error #418 on
 * every load of the audit log from Berlin or New York) and a wrong time for a moment.
 */
export function LocalDateTime({ value, className }: { value: string; className?: string }) {
  const hydrated = useHydrated();
  const date = new Date(value);
  return (
    <time dateTime={value} className={className}>
      {hydrated ? formatDateTime(date) : `${utcFormat.format(date)} UTC`}
    </time>
  );
}
