import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

import { errorOf } from "./testing/data-access";

process.env.PORTICO_SECRET_KEY ??= randomBytes(32).toString("base64");
// With company SSO, people appear as users on their first sign-in: an admin may name them before it.
process.env.OIDC_ISSUER = "https://idp.example";
process.env.OIDC_CLIENT_ID = "portico";
process.env.OIDC_CLIENT_SECRET = "not-used-here";

const { createTestDatabase } = await import("./db/test-database");
const { systemActor } = await import("./auth/actor");
const roles = await import("./roles");

let t: Awaited<ReturnType<typeof createTestDatabase>>;
const admin = systemActor("test");

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.close();
});

describe(`user principals with company SSO (${process.env.TEST_DATABASE_URL ? "postgres" : "pglite"})`, () => {
  it("takes the email of someone who has not signed in yet, but not a value that is no email", async () => {
    const role = await roles.createRole(t.db, admin, { slug: "sso-early", name: "Early", principals: [{ kind: "user", value: "new.hire@corp.example" }] });
    expect(role.principals).toEqual([{ kind: "user", value: "new.hire@corp.example" }]);
    const err = await errorOf(roles.createRole(t.db, admin, { slug: "sso-typo", name: "Typo", principals: [{ kind: "user", value: "new.hire" }] }));
    expect(err).toMatchObject({ code: "validation_failed", fieldErrors: [{ field: "principals.0", message: "Enter the user's email" }] });
  });
});
