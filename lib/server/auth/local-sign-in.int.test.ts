import { randomBytes } from "node:crypto";
import { generateSync } from "otplib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
process.env.LOCKOUT_THRESHOLD = "3";

const { createTestDatabase } = await import("../db/test-database");
const { localSessionUser, verifyLocalSignIn } = await import("./local-sign-in");
const { sessionMfaAt } = await import("./mfa-time");
const { mfaFreshness } = await import("../oauth/step-up");
const { hashPassword } = await import("./passwords");
const { startMfaEnrolment, confirmMfaEnrolment } = await import("./mfa");
import type { Actor } from "./actor";

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const password = "correct horse battery";

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

async function makeUser(email: string) {
  return t.db.user.create({ data: { email, name: email, role: "viewer", passwordHash: await hashPassword(password) } });
}

describe("local sign-in", () => {
  it("accepts the right password, case-insensitively on the email, and records it", async () => {
    const user = await makeUser("ana@t.local");
    const result = await verifyLocalSignIn(t.db, { email: "ANA@t.local", password });
    expect(result).toMatchObject({ ok: true, user: { id: user.id }, mfa: false });
    const events = await t.db.auditEvent.findMany({ where: { actorId: user.id, kind: "auth.sign_in" } });
    expect(events.map((e) => e.outcome)).toEqual(["success"]);
  });

  it("gives the same answer for an unknown email and a wrong password", async () => {
    await makeUser("bob@t.local");
    expect(await verifyLocalSignIn(t.db, { email: "nobody@t.local", password })).toEqual({ ok: false, reason: "invalid_credentials" });
    expect(await verifyLocalSignIn(t.db, { email: "bob@t.local", password: "wrong" })).toEqual({ ok: false, reason: "invalid_credentials" });
  });

  it("locks the account after repeated failures, even for the right password", async () => {
    await makeUser("carl@t.local");
    for (let i = 0; i < 2; i++) expect((await verifyLocalSignIn(t.db, { email: "carl@t.local", password: "nope" })).ok).toBe(false);
    expect(await verifyLocalSignIn(t.db, { email: "carl@t.local", password: "nope" })).toEqual({ ok: false, reason: "locked" });
    expect(await verifyLocalSignIn(t.db, { email: "carl@t.local", password })).toEqual({ ok: false, reason: "locked" });
  });

  it("asks for a TOTP code once enrolled, accepts a valid one, and a recovery code only once", async () => {
    const user = await makeUser("dora@t.local");
    const actor: Actor = { type: "user", userId: user.id, email: user.email, name: user.name, role: "viewer", mfa: false };
    const { secret, qrDataUrl } = await startMfaEnrolment(t.db, actor);
    expect(qrDataUrl).toMatch(/^data:image\/png;base64,/);
    const recovery = await confirmMfaEnrolment(t.db, actor, generateSync({ secret }));
    expect(recovery).toHaveLength(10);

    expect(await verifyLocalSignIn(t.db, { email: "dora@t.local", password })).toEqual({ ok: false, reason: "mfa_required" });
    expect(await verifyLocalSignIn(t.db, { email: "dora@t.local", password, code: "000000" })).toEqual({ ok: false, reason: "mfa_invalid" });
    // The enrolment used this period's code: sign in with the next period's (accepted: one step
    // of drift), then the same code again is a replay and is refused.
    const next = generateSync({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
    expect(await verifyLocalSignIn(t.db, { email: "dora@t.local", password, code: next })).toMatchObject({ ok: true, mfa: true });
    expect(await verifyLocalSignIn(t.db, { email: "dora@t.local", password, code: next })).toEqual({ ok: false, reason: "mfa_invalid" });
    expect(await verifyLocalSignIn(t.db, { email: "dora@t.local", password, code: recovery[0] })).toMatchObject({ ok: true });
    expect(await verifyLocalSignIn(t.db, { email: "dora@t.local", password, code: recovery[0] })).toEqual({ ok: false, reason: "mfa_invalid" });
  });

  it("refuses a disabled user", async () => {
    const user = await makeUser("eve@t.local");
    await t.db.user.update({ where: { id: user.id }, data: { disabled: true } });
    expect(await verifyLocalSignIn(t.db, { email: "eve@t.local", password })).toEqual({ ok: false, reason: "disabled" });
  });

  it("counts the TOTP code of a sign-in as a fresh second factor, so the step-up page right after does not ask for another", async () => {
    const user = await makeUser("fay@t.local");
    const actor: Actor = { type: "user", userId: user.id, email: user.email, name: user.name, role: "viewer", mfa: false };
    const { secret } = await startMfaEnrolment(t.db, actor);
    await confirmMfaEnrolment(t.db, actor, generateSync({ secret }));
    const before = Date.now();
    const result = await verifyLocalSignIn(t.db, { email: "fay@t.local", password, code: generateSync({ secret, epoch: Math.floor(before / 1000) + 30 }) });
    if (!result.ok) throw new Error(`sign-in refused: ${result.reason}`);
    // What the session keeps (the credentials provider's user, then the JWT's mfaAt) ...
    const mfaAt = sessionMfaAt(localSessionUser(result), Date.now());
    expect(mfaAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    // ... is fresh on the step-up page seconds later, and stale once the 10-minute window has passed.
    expect(await mfaFreshness(t.db, user.id, { sessionMfaAt: mfaAt, cookie: undefined }, Date.now() + 5_000)).toEqual({ kind: "fresh" });
    expect(await mfaFreshness(t.db, user.id, { sessionMfaAt: mfaAt, cookie: undefined }, before + 11 * 60_000)).toEqual({ kind: "stale", hasTotp: true });

    // Without a second factor the session claims none.
    await makeUser("gus@t.local");
    const plain = await verifyLocalSignIn(t.db, { email: "gus@t.local", password });
    expect(plain.ok && sessionMfaAt(localSessionUser(plain), Date.now())).toBeNull();
  });
});
