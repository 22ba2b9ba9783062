import "server-only";
import type { Settings } from "@/lib/schemas/settings";
import { settingsSchema } from "@/lib/schemas/settings";
import type { Db } from "../db/client";
import { readSettings } from "../settings";

// An admin's change takes effect within this long, without a read per token request.
const FRESH_FOR_MS = 2_000;

/**
 * The settings the authorization server consults on its hot paths (token lifetimes, registration,
 * CIMD), re-read at most every two seconds. `current()` is for oidc-provider's synchronous hooks
 * (its `ttl` functions); it is the value the last `get()` saw, or the defaults before any.
 */
export function settingsCache(db: Db) {
  let value: Settings = settingsSchema.parse({});
  let readAt = 0;
  let pending: Promise<Settings> | null = null;
  return {
    async get(): Promise<Settings> {
      if (Date.now() - readAt < FRESH_FOR_MS) return value;
      pending ??= readSettings(db)
        .then((fresh) => {
          value = fresh;
          readAt = Date.now();
          return fresh;
        })
        .finally(() => {
          pending = null;
        });
      return pending;
    },
    current: (): Settings => value,
  };
}
export type SettingsCache = ReturnType<typeof settingsCache>;
