"use client";

import { useSyncExternalStore } from "react";

import { formatTime, splitUtcTimes, type TimeShape } from "@/lib/format";

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
 * A time in the viewer's time zone: the date and the time to the minute, or with `shape="time"`
 * the time of day to the second (its title then gives the date). The server (and hydration) render
 * it in UTC, labelled so, inside a `<time dateTime>`, and the browser swaps in its own zone right
 * after hydrating: formatting in the server's zone gave a different text than the browser's (React
 * error #418 on every load from Berlin or New York) and a wrong time for a moment.
 */
export function LocalTime({ value, shape = "date-time", className }: { value: string; shape?: TimeShape; className?: string }) {
  const hydrated = useHydrated();
  return (
    <time dateTime={value} title={hydrated && shape === "time" ? formatTime(value) : undefined} className={className}>
      {formatTime(value, shape, hydrated ? undefined : "UTC")}
    </time>
  );
}

/** A stored text with its `formatUtcText` times ("… since 2026-03-05 14:07 UTC") shown in the viewer's zone. */
export function TextWithTimes({ text }: { text: string }) {
  return (
    <>
      {splitUtcTimes(text).map((part, i) => (typeof part === "string" ? part : <LocalTime key={i} value={part.iso} />))}
    </>
  );
}
