"use client";

import { useSyncExternalStore } from "react";

import { formatDateTime, formatRelativeTime } from "@/lib/format";

const MINUTE = 60_000;

// One clock for every <RelativeTime> on the page, read a few times a minute.
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (!timer) {
    timer = setInterval(() => {
      for (const l of listeners) l();
    }, 15_000);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

// Whole minutes, so that consecutive reads agree and a re-render happens only when the text may change.
const getSnapshot = () => Math.floor(Date.now() / MINUTE);

/** The current time to the minute, re-rendering as minutes pass; for "expired?" style checks in render. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot) * MINUTE;
}

/**
 * A timestamp shown relative ("3 minutes ago") with the full date in its title. The server and the
 * browser may disagree on the time zone (title) and the minute (text), hence the hydration escape.
 */
export function RelativeTime({ value, fallback = "—", className }: { value: string | null | undefined; fallback?: string; className?: string }) {
  const now = useNow();
  if (!value) return <span className={className}>{fallback}</span>;
  return (
    <time dateTime={value} title={formatDateTime(value)} className={className} suppressHydrationWarning>
      {formatRelativeTime(value, now)}
    </time>
  );
}
