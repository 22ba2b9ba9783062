"use client";

import { useSyncExternalStore, type ComponentProps } from "react";

import { formatRelativeTime, formatTime, formatTimeLeft, formatWaited } from "@/lib/format";
import { useHydrated } from "@/components/ui/local-time";

const MINUTE = 60_000;
// Every second: a "Waiting 12 s" counts visibly, and a relative time turns over within a second of
// its true boundary. Components re-render only when their own text changes (see useClock).
const TICK_MS = 1_000;

// One clock for the whole page, however many times are shown: a single interval while anything listens.
const listeners = new Set<() => void>();
let timer: ReturnType<typeof setInterval> | undefined;

function subscribe(listener: () => void) {
  listeners.add(listener);
  if (!timer) {
    timer = setInterval(() => {
      for (const l of listeners) l();
    }, TICK_MS);
  }
  return () => {
    listeners.delete(listener);
    if (listeners.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/**
 * What `read(now)` gives on the page's shared clock. React compares successive results, so a
 * component re-renders only when its result changes: return text or a rounded number, not a Date.
 * The server renders with its own clock; text that depends on it needs `suppressHydrationWarning`
 * on its element, and is corrected by the first tick.
 */
export function useClock<T extends string | number | boolean>(read: (nowMs: number) => T): T {
  const snapshot = () => read(Date.now());
  return useSyncExternalStore(subscribe, snapshot, snapshot);
}

/** The current time to the minute, re-rendering as minutes pass; for "expired?" style checks in render. */
export function useNow(): number {
  return useClock((now) => Math.floor(now / MINUTE)) * MINUTE;
}

/**
 * A timestamp shown relative ("in 15 minutes") with the full date in its title, against the exact
 * current time (not the minute, which showed a 15-minute grant as "in 16 minutes"). The server and
 * the browser disagree on the time zone (title) and the moment (text), hence the hydration escape.
 */
export function RelativeTime({ value, fallback = "—", className }: { value: string | null | undefined; fallback?: string; className?: string }) {
  const text = useClock((now) => (value ? formatRelativeTime(value, now) : fallback));
  const hydrated = useHydrated();
  if (!value) return <span className={className}>{fallback}</span>;
  return (
    <time dateTime={value} title={hydrated ? formatTime(value) : undefined} className={className} suppressHydrationWarning>
      {text}
    </time>
  );
}

/**
 * How long something has waited since `since` ("12 s", "3 min", "1 h 5 min"), counting on the
 * page's shared clock. The server's moment differs from the browser's, hence the hydration escape.
 */
export function WaitedTime({ since, ...props }: { since: string } & Omit<ComponentProps<"time">, "dateTime" | "children">) {
  const text = useClock((now) => formatWaited(Date.parse(since), now));
  return (
    <time dateTime={since} {...props} suppressHydrationWarning>
      {text}
    </time>
  );
}

/**
 * A live countdown to `until` ("29:41 left"), ticking on the page's shared clock; `ended` once it
 * is over. The server's moment differs from the browser's, hence the hydration escape.
 */
export function TimeLeft({ until, ended = "ended", ...props }: { until: string; ended?: string } & Omit<ComponentProps<"time">, "dateTime" | "children">) {
  const text = useClock((now) => (Date.parse(until) > now ? `${formatTimeLeft(Date.parse(until), now)} left` : ended));
  return (
    <time dateTime={until} {...props} suppressHydrationWarning>
      {text}
    </time>
  );
}
