"use client";

import { useSyncExternalStore } from "react";

const MINUTE = 60_000;

// One clock for every <RelativeTime> on the page, ticking once a minute.
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

const relativeFormat = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "long" });
const absoluteFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short" });

const STEPS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["minute", 60],
  ["hour", 24],
  ["day", 7],
  ["week", 4.35],
  ["month", 12],
  ["year", Number.POSITIVE_INFINITY],
];

/** "3 minutes ago", "in 2 days", "now" for a time relative to `nowMs`. */
export function formatRelative(date: Date, nowMs: number): string {
  let value = (date.getTime() - nowMs) / MINUTE;
  if (Math.abs(value) < 1) return "just now";
  for (const [unit, size] of STEPS) {
    if (Math.abs(value) < size) return relativeFormat.format(Math.round(value), unit);
    value /= size;
  }
  return absoluteFormat.format(date);
}

export function formatAbsolute(iso: string): string {
  return absoluteFormat.format(new Date(iso));
}

/**
 * A timestamp shown relative ("3 minutes ago") with the full date in its title. The server and the
 * browser may disagree on the time zone (title) and the minute (text), hence the hydration escape.
 */
export function RelativeTime({ value, fallback = "—", className }: { value: string | null | undefined; fallback?: string; className?: string }) {
  const now = useSyncExternalStore(subscribe, getSnapshot, getSnapshot) * MINUTE;
  if (!value) return <span className={className}>{fallback}</span>;
  const date = new Date(value);
  return (
    <time dateTime={value} title={absoluteFormat.format(date)} className={className} suppressHydrationWarning>
      {formatRelative(date, now)}
    </time>
  );
}

/** The current time to the minute, re-rendering as minutes pass; for "expired?" style checks in render. */
export function useNow(): number {
  return useSyncExternalStore(subscribe, getSnapshot, getSnapshot) * MINUTE;
}
