import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
const { createTestDatabase } = await import("./db/test-database");
const { systemActor } = await import("./auth/actor");
const { readSettings, updateSettings } = await import("./settings");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin = systemActor("test");

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

describe("settings", () => {
  it("changes only what a change names: saving one setting leaves the others as they were", async () => {
    await updateSettings(t.db, admin, { oauthCimdDomains: ["claude.ai", "*.Example.com"] });
    await updateSettings(t.db, admin, { oauthAccessTokenMinutes: 5, oauthRefreshTokenDays: 7 });
    await updateSettings(t.db, admin, { oauthDynamicRegistration: false });
    expect(await readSettings(t.db)).toEqual({
      allowPrivateTargets: false,
      oauthDynamicRegistration: false,
      oauthCimdDomains: ["claude.ai", "*.example.com"],
      oauthCimdAllowPrivate: false,
      oauthAccessTokenMinutes: 5,
      oauthRefreshTokenDays: 7,
      // The retention defaults of issue 11, untouched.
      retentionPayloadDays: 30,
      retentionMcpDays: 400,
      retentionAuthDays: 400,
      retentionGovernanceDays: 2557,
      approverWebhookUrl: null,
      approverWebhookSecretRef: null,
    });
  });

  it("refuses unknown settings and out-of-range values, changing nothing", async () => {
    const before = await readSettings(t.db);
    await expect(updateSettings(t.db, admin, { oauthAccessTokenMinutes: 61 })).rejects.toThrow();
    await expect(updateSettings(t.db, admin, { oauthCimdDomains: ["https://claude.ai/"] })).rejects.toThrow();
    await expect(updateSettings(t.db, admin, { somethingElse: true })).rejects.toThrow();
    await expect(updateSettings(t.db, admin, {})).rejects.toThrow();
    expect(await readSettings(t.db)).toEqual(before);
  });
});
