"use client";

import { useSyncExternalStore } from "react";

let zones: string[] | null = null;

function getZones(): string[] {
  if (!zones) {
    const supported = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    zones = supported.includes("UTC") ? supported : ["UTC", ...supported];
  }
  return zones;
}

const subscribe = () => () => {};

/**
 * The browser's IANA time zones, or null during server rendering and hydration: Node's and the
 * browser's ICU lists differ, and the `<option>`s must match what the server sent.
 */
export function useTimeZones(): string[] | null {
  return useSyncExternalStore(subscribe, getZones, () => null);
}

export function browserTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}
