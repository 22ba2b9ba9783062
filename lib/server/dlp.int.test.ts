import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Actor } from "./auth/actor";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
process.env.PORTICO_CONTROL_PLANE_URL ??= "http://localhost:3000";
const { createTestDatabase } = await import("./db/test-database");
const { updateDlpSettings, getDlpSettings, testDlp } = await import("./dlp");
const { buildSnapshot } = await import("./config-versions");
const { listDlpDetectorOptions } = await import("./dlp-policy");
const { systemActor } = await import("./auth/actor");

type TestDb = Awaited<ReturnType<typeof createTestDatabase>>;
let t: TestDb;
const admin = systemActor("test");
const auditor: Actor = { type: "user", userId: "u1", email: "auditor@example.test", name: "A", role: "auditor", mfa: true };

beforeAll(async () => {
  t = await createTestDatabase();
  await t.db.portal.create({ data: { slug: "finops", name: "FinOps" } });
});
afterAll(async () => {
  await t?.close();
});

describe("DLP settings", () => {
  it("saves patterns and portal actions, records the change, and puts them in the next snapshot", async () => {
    await updateDlpSettings(t.db, admin, { patterns: [{ id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" }], portals: { finops: { actions: { card: "block" }, capture: "metadata" } } });
    const snapshot = await buildSnapshot(t.db, 1);
    expect(snapshot.dlpPatterns).toEqual([{ id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" }]);
    expect(snapshot.portals[0]!.dlp).toEqual({ actions: { card: "block" }, capture: "metadata" });
    expect(await t.db.auditEvent.count({ where: { action: "dlp.update" } })).toBe(1);
    expect((await getDlpSettings(t.db, auditor)).detectors.map((d) => d.id)).toContain("iban");
  });

  it("refuses a pattern RE2 cannot run, naming the field, and lets auditors test but not change", async () => {
    await expect(updateDlpSettings(t.db, admin, { patterns: [{ id: "bad", name: "Backref", regex: "(a)\\1" }] })).rejects.toMatchObject({ fieldErrors: [{ field: "patterns.0.regex" }] });
    await expect(updateDlpSettings(t.db, auditor, { patterns: [] })).rejects.toThrow();
    const result = await testDlp(t.db, auditor, { text: "PRJ-1234 and 4111 1111 1111 1111 but not 4111 1111 1111 1112" });
    expect(result.matches.map((m) => [m.detector, m.text])).toEqual([
      ["project", "PRJ-1234"],
      ["card", "4111 1111 1111 1111"],
    ]);
    expect(result.redacted).toBe("[REDACTED:project] and [REDACTED:card] but not 4111 1111 1111 1112");
  });

  it("tests with a just-added blank row left out, built-ins included; saving it names that row", async () => {
    const rows = [
      { id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" },
      { id: "pattern_2", name: "New pattern", regex: "" },
    ];
    const result = await testDlp(t.db, admin, { text: "PRJ-1234, 4111 1111 1111 1111", patterns: rows });
    expect(result.matches.map((m) => m.detector)).toEqual(["project", "card"]);
    // A row with a broken expression after the blank one is still named by its own place.
    await expect(testDlp(t.db, admin, { text: "x", patterns: [...rows, { id: "bad", name: "Backref", regex: "(a)\\1" }] })).rejects.toMatchObject({ fieldErrors: [{ field: "patterns.2.regex" }] });
    await expect(updateDlpSettings(t.db, admin, { patterns: rows })).rejects.toMatchObject({ issues: [{ path: ["patterns", 1, "regex"], message: "Enter a regular expression" }] });
  });

  it("lists the admin's patterns beside the built-ins for every audit reader, without their expressions", async () => {
    await updateDlpSettings(t.db, admin, { patterns: [{ id: "employee_id", name: "Employee id", regex: "E[0-9]{6}" }] });
    const viewer: Actor = { ...auditor, role: "viewer" };
    for (const reader of [auditor, viewer]) {
      const options = await listDlpDetectorOptions(t.db, reader);
      expect(options.at(-1)).toEqual({ id: "employee_id", label: "Employee id", isBuiltIn: false });
      expect(options.filter((o) => o.isBuiltIn).map((o) => o.id)).toContain("card");
      expect(JSON.stringify(options)).not.toContain("E[0-9]");
    }
  });
});
