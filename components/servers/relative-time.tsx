"use client";

import { useSyncExternalStore } from "react";

import { formatAbsolute, formatRelative } from "@/components/servers/format";

const TICK_MS = 30_000;

// One shared clock for every timestamp on the page, rounded so that consecutive reads agree.
const subscribe = (onChange: () => void) => {
  const timer = setInterval(onChange, TICK_MS);
  return () => clearInterval(timer);
};
const readNow = () => Math.floor(Date.now() / TICK_MS) * TICK_MS;

export function RelativeTime({ value, fallback = "Never", className }: { value: string | null; fallback?: string; className?: string }) {
  const now = useSyncExternalStore(subscribe, readNow, readNow);
  if (!value) return <span className={className}>{fallback}</span>;
  // Server and browser clocks (and time zones) differ by design; the browser's reading wins.
  return (
    <time dateTime={value} title={formatAbsolute(value)} className={className} suppressHydrationWarning>
      {formatRelative(value, now)}
    </time>
  );
}
