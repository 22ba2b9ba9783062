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

  it("keeps no payload longer than the metadata row it lives on, saying which field and why", async () => {
    const before = await readSettings(t.db);
    const refused = await updateSettings(t.db, admin, { retentionPayloadDays: 500 }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ code: "validation_failed", fieldErrors: [{ field: "retentionPayloadDays", message: expect.stringMatching(/kept 400 days: keep payloads 400 days or fewer/) }] });
    // Shortening the metadata below the payloads is refused on that field.
    const shorter = await updateSettings(t.db, admin, { retentionMcpDays: 20 }).catch((error: unknown) => error);
    expect(shorter).toMatchObject({ fieldErrors: [{ field: "retentionMcpDays", message: expect.stringMatching(/at least 30 days/) }] });
    expect(await readSettings(t.db)).toEqual(before);
    // Both at once, consistent: saved.
    await updateSettings(t.db, admin, { retentionPayloadDays: 20, retentionMcpDays: 20 });
    expect(await readSettings(t.db)).toMatchObject({ retentionPayloadDays: 20, retentionMcpDays: 20 });
    await updateSettings(t.db, admin, { retentionMcpDays: before.retentionMcpDays, retentionPayloadDays: before.retentionPayloadDays });
  });

  it("says what is wrong with a number of days in words an admin can act on", async () => {
    const messages = async (value: unknown) => {
      const error = (await updateSettings(t.db, admin, { retentionAuthDays: value }).catch((e: unknown) => e)) as { issues?: Array<{ message: string }> };
      return error.issues?.map((i) => i.message);
    };
    expect(await messages(0)).toEqual(["Keep at least 1 day"]);
    expect(await messages(1.5)).toEqual(["Whole days only"]);
    expect(await messages(40_000)).toEqual(["At most 36,500 days (100 years)"]);
  });
});
