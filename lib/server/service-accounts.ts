import "server-only";
import { createHmac, hkdfSync, randomBytes } from "node:crypto";
import {
  createServiceAccountInput,
  listServiceAccountsParams,
  rotateServiceAccountInput,
  seedServiceAccountInput,
  updateServiceAccountInput,
  type ServiceAccountView,
  type ServiceAccountWithSecret,
} from "@/lib/schemas/service-account";
import type { Page } from "@/lib/schemas/common";
import { AppError, notFound } from "@/lib/errors";
import type { Prisma, ServiceAccount } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { env } from "./env";
import { randomToken, safeEqual } from "./crypto";
import { iso, pageArgs, toPage } from "./pagination";
import { recordRevocations, secretIdOf, type RevocationInput } from "./revocations";

type Tx = Prisma.TransactionClient;

/**
 * Service accounts are OAuth clients of the control plane's authorization server (client
 * credentials grant). Their client ids, and only theirs, start with this prefix: the OAuth layer
 * relies on it to tell a service account from any other client.
 */
export const SERVICE_ACCOUNT_CLIENT_ID_PREFIX = "sa_";
const SECRET_PREFIX = "sas_";
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export const isServiceAccountClientId = (clientId: string) => clientId.startsWith(SERVICE_ACCOUNT_CLIENT_ID_PREFIX);

let hmacKey: { source: string; key: Buffer } | undefined;

function secretHmacKey(): Buffer {
  const source = env().PORTICO_SECRET_KEY;
  if (!source) throw new Error("PORTICO_SECRET_KEY is not set: service account secrets cannot be checked");
  // A key of its own (HKDF), so this HMAC never shares a key with the AES encryption of secrets.
  if (hmacKey?.source !== source) {
    hmacKey = { source, key: Buffer.from(hkdfSync("sha256", Buffer.from(source, "base64"), Buffer.alloc(0), "portico/service-account-secret/v1", 32)) };
  }
  return hmacKey.key;
}

/**
 * What is stored for a client secret: HMAC-SHA256 under a key derived from PORTICO_SECRET_KEY.
 * Keyed, so a copy of the database alone does not allow testing guesses; secrets are 256 random
 * bits, so no slow password hash is needed.
 */
export function hashClientSecret(secret: string): string {
  return createHmac("sha256", secretHmacKey()).update(secret, "utf8").digest("hex");
}

function newClientId(): string {
  return `${SERVICE_ACCOUNT_CLIENT_ID_PREFIX}${randomBytes(10).toString("hex")}`;
}

function newSecret(): { secret: string; hash: string } {
  const secret = `${SECRET_PREFIX}${randomToken(32)}`;
  return { secret, hash: hashClientSecret(secret) };
}

const include = { portalRole: { select: { id: true, slug: true, name: true } } } as const satisfies Prisma.ServiceAccountInclude;
type Row = Prisma.ServiceAccountGetPayload<{ include: typeof include }>;

function toView(row: Row, now = new Date()): ServiceAccountView {
  return {
    id: row.id,
    name: row.name,
    clientId: row.clientId,
    role: row.portalRole ? { id: row.portalRole.id, slug: row.portalRole.slug, name: row.portalRole.name } : null,
    expiresAt: row.expiresAt.toISOString(),
    disabledAt: iso(row.disabledAt),
    lastUsedAt: iso(row.lastUsedAt),
    previousSecretExpiresAt: row.previousSecretHash && row.previousSecretExpiresAt && row.previousSecretExpiresAt > now ? row.previousSecretExpiresAt.toISOString() : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

async function loadAccount(tx: Tx | Db, id: string): Promise<Row> {
  const row = await tx.serviceAccount.findUnique({ where: { id }, include });
  if (!row) throw notFound("Service account");
  return row;
}

async function assertRoleExists(tx: Tx, roleId: string | null) {
  if (roleId === null) return;
  const found = await tx.portalRole.count({ where: { id: roleId } });
  if (!found) throw new AppError("validation_failed", "That role does not exist", [{ field: "portalRoleId", message: "Unknown role" }]);
}

/**
 * Keeps the policy model's view in step: an enabled account with a role is a member of that role
 * (RolePrincipal kind service_account, value = client id) and of no other; a disabled one is a
 * member of none, so disabling cuts access at the next config version rather than only when its
 * last token expires.
 */
async function syncRolePrincipal(tx: Tx, account: Pick<ServiceAccount, "clientId" | "portalRoleId" | "disabledAt">) {
  const roleId = account.disabledAt ? null : account.portalRoleId;
  await tx.rolePrincipal.deleteMany({ where: { kind: "service_account", value: account.clientId, ...(roleId ? { NOT: { roleId } } : {}) } });
  if (roleId) {
    await tx.rolePrincipal.upsert({
      where: { roleId_kind_value: { roleId, kind: "service_account", value: account.clientId } },
      create: { roleId, kind: "service_account", value: account.clientId },
      update: {},
    });
  }
}

export async function listServiceAccounts(db: Db, actor: Actor, raw: unknown): Promise<Page<ServiceAccountView>> {
  authorize(actor, "registry:read");
  const params = listServiceAccountsParams.parse(raw);
  const where: Prisma.ServiceAccountWhereInput = params.q
    ? { OR: [{ name: { contains: params.q, mode: "insensitive" } }, { clientId: { contains: params.q, mode: "insensitive" } }] }
    : {};
  const rows = await db.serviceAccount.findMany({ where, include, orderBy: [{ createdAt: "desc" }, { id: "desc" }], ...pageArgs(params) });
  const now = new Date();
  return toPage(rows, params.limit, (row) => toView(row, now));
}

export async function getServiceAccount(db: Db, actor: Actor, id: string): Promise<ServiceAccountView> {
  authorize(actor, "registry:read");
  return toView(await loadAccount(db, id));
}

/** Creates a service account; the answer holds its secret, which is never shown again. */
export async function createServiceAccount(db: Db, actor: Actor, raw: unknown): Promise<ServiceAccountWithSecret> {
  authorize(actor, "registry:write");
  const input = createServiceAccountInput.parse(raw);
  const { secret, hash } = newSecret();
  return db.$transaction(async (tx) => {
    await assertRoleExists(tx, input.portalRoleId);
    const row = await tx.serviceAccount.create({
      data: {
        name: input.name,
        clientId: newClientId(),
        secretHash: hash,
        portalRoleId: input.portalRoleId,
        expiresAt: new Date(Date.now() + input.expiresInDays * DAY_MS),
      },
      include,
    });
    await syncRolePrincipal(tx, row);
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "service_account.create", targetType: "service_account", targetId: row.id, after: view });
    return { ...view, clientSecret: secret };
  });
}

/** Renames, changes the role, disables or re-enables a service account. */
export async function updateServiceAccount(db: Db, actor: Actor, id: string, raw: unknown): Promise<ServiceAccountView> {
  authorize(actor, "registry:write");
  const input = updateServiceAccountInput.parse(raw);
  return db.$transaction(async (tx) => {
    const before = await loadAccount(tx, id);
    if (input.portalRoleId !== undefined) await assertRoleExists(tx, input.portalRoleId);
    const disabledAt = input.disabled === undefined ? undefined : input.disabled ? (before.disabledAt ?? new Date()) : null;
    const row = await tx.serviceAccount.update({
      where: { id },
      data: { name: input.name, portalRoleId: input.portalRoleId, disabledAt },
      include,
    });
    await syncRolePrincipal(tx, row);
    const view = toView(row);
    const action = input.disabled === true && !before.disabledAt ? "service_account.disable" : input.disabled === false && before.disabledAt ? "service_account.enable" : "service_account.update";
    // Its tokens in hand stop at the gateways too, not only new ones at the token endpoint.
    if (action === "service_account.disable") await recordRevocations(tx, [{ kind: "client", id: row.clientId, reason: "service account disabled", at: row.disabledAt! }]);
    await recordConfigChange(tx, actor, { action, targetType: "service_account", targetId: id, before: toView(before), after: view });
    return view;
  });
}

/** Disables a service account: no new tokens, and it leaves its role. */
export function disableServiceAccount(db: Db, actor: Actor, id: string): Promise<ServiceAccountView> {
  return updateServiceAccount(db, actor, id, { disabled: true });
}

/**
 * Issues a new secret (shown once), valid for `expiresInDays`: rotating is also how an account is
 * renewed. The replaced secret keeps working for `graceHours` so that running jobs can switch over;
 * a secret replaced by an earlier rotation stops at once, and so does one that had already expired
 * (renewing must not bring it back).
 */
export async function rotateServiceAccountSecret(db: Db, actor: Actor, id: string, raw: unknown = {}): Promise<ServiceAccountWithSecret> {
  authorize(actor, "registry:write");
  const input = rotateServiceAccountInput.parse(raw ?? {});
  const { secret, hash } = newSecret();
  return db.$transaction(async (tx) => {
    const before = await loadAccount(tx, id);
    const now = Date.now();
    const isCurrentSecretAlive = before.expiresAt.getTime() > now;
    const graceEnds = input.graceHours > 0 && isCurrentSecretAlive ? new Date(Math.min(now + input.graceHours * HOUR_MS, before.expiresAt.getTime())) : null;
    const row = await tx.serviceAccount.update({
      where: { id },
      data: {
        secretHash: hash,
        previousSecretHash: graceEnds ? before.secretHash : null,
        previousSecretExpiresAt: graceEnds,
        expiresAt: new Date(now + input.expiresInDays * DAY_MS),
      },
      include,
    });
    // A secret that stops now (no grace, or replaced during an earlier rotation's grace) takes its
    // tokens with it; one in grace is ended at its grace end by an entry derived from the account.
    const endsNow: RevocationInput[] = [];
    if (!graceEnds) endsNow.push({ kind: "secret", id: secretIdOf(before.secretHash), reason: "service account secret replaced" });
    if (before.previousSecretHash && before.previousSecretExpiresAt && before.previousSecretExpiresAt.getTime() > now) {
      endsNow.push({ kind: "secret", id: secretIdOf(before.previousSecretHash), reason: "service account secret replaced" });
    }
    await recordRevocations(tx, endsNow, new Date(now));
    const view = toView(row);
    await recordConfigChange(tx, actor, {
      action: "service_account.rotate",
      targetType: "service_account",
      targetId: id,
      before: toView(before),
      after: { ...view, graceHours: input.graceHours },
    });
    return { ...view, clientSecret: secret };
  });
}

export async function deleteServiceAccount(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "registry:write");
  await db.$transaction(async (tx) => {
    const before = await loadAccount(tx, id);
    await tx.rolePrincipal.deleteMany({ where: { kind: "service_account", value: before.clientId } });
    await tx.serviceAccount.delete({ where: { id } });
    await recordRevocations(tx, [{ kind: "client", id: before.clientId, reason: "service account deleted" }]);
    await recordConfigChange(tx, actor, { action: "service_account.delete", targetType: "service_account", targetId: id, before: toView(before) });
  });
}

/**
 * Creates or refreshes an account with a fixed client id and a secret the caller chose: for seeds
 * (the demo's account, end-to-end tests) only; the API always generates secrets. Idempotent: on an
 * existing account only the secret is reset to the given one (and the expiry renewed if it has
 * passed), so restarts keep the printed credentials working without undoing an admin's changes
 * to its name, role or disabled state.
 */
export async function seedServiceAccount(db: Db, actor: Actor, raw: unknown): Promise<ServiceAccountView> {
  authorize(actor, "registry:write");
  const input = seedServiceAccountInput.parse(raw);
  const hash = hashClientSecret(input.clientSecret);
  return db.$transaction(async (tx) => {
    const existing = await tx.serviceAccount.findUnique({ where: { clientId: input.clientId }, include });
    const now = new Date();
    const expiresAt = new Date(now.getTime() + input.expiresInDays * DAY_MS);
    if (!existing) {
      await assertRoleExists(tx, input.portalRoleId);
      const row = await tx.serviceAccount.create({
        data: { name: input.name, clientId: input.clientId, secretHash: hash, portalRoleId: input.portalRoleId, expiresAt },
        include,
      });
      await syncRolePrincipal(tx, row);
      const view = toView(row, now);
      await recordConfigChange(tx, actor, { action: "service_account.create", targetType: "service_account", targetId: row.id, after: view });
      return view;
    }
    // Repairs the role membership too, should anything have let it drift.
    await syncRolePrincipal(tx, existing);
    const isSameSecret = safeEqual(existing.secretHash, hash) && existing.previousSecretHash === null;
    const isExpired = existing.expiresAt <= now;
    if (isSameSecret && !isExpired) return toView(existing, now);
    const row = await tx.serviceAccount.update({
      where: { id: existing.id },
      data: { secretHash: hash, previousSecretHash: null, previousSecretExpiresAt: null, ...(isExpired ? { expiresAt } : {}) },
      include,
    });
    const replaced = [existing.secretHash, existing.previousSecretHash].filter((h): h is string => h !== null && !safeEqual(h, hash));
    await recordRevocations(tx, replaced.map((h) => ({ kind: "secret", id: secretIdOf(h), reason: "service account secret replaced" })), now);
    const view = toView(row, now);
    await recordConfigChange(tx, actor, { action: "service_account.rotate", targetType: "service_account", targetId: row.id, before: toView(existing, now), after: view });
    return view;
  });
}

// ---- For the OAuth authorization server (no actor: the client authenticates itself) ----

export type ServiceAccountCredentials = Pick<ServiceAccount, "id" | "name" | "clientId" | "secretHash" | "expiresAt">;

/** The account behind a client id, if it may get tokens now: not disabled, not expired. */
export async function findUsableServiceAccount(db: Db, clientId: string, now = new Date()): Promise<ServiceAccountCredentials | null> {
  if (!isServiceAccountClientId(clientId) || clientId.length > 64) return null;
  const row = await db.serviceAccount.findUnique({
    where: { clientId },
    select: { id: true, name: true, clientId: true, secretHash: true, expiresAt: true, disabledAt: true },
  });
  if (!row || row.disabledAt || row.expiresAt <= now) return null;
  return { id: row.id, name: row.name, clientId: row.clientId, secretHash: row.secretHash, expiresAt: row.expiresAt };
}

/**
 * The stored hash a presented secret stands for: the current secret's hash, or, during a rotation
 * grace period, the previous one's mapped onto the current hash (the value the authorization server
 * compares against). Anything else returns the presented secret's own hash, which matches nothing.
 */
export async function presentedSecretHash(db: Db, clientId: string, secret: string, now = new Date()): Promise<string> {
  const presented = hashClientSecret(secret);
  if (!isServiceAccountClientId(clientId) || clientId.length > 64) return presented;
  const row = await db.serviceAccount.findUnique({
    where: { clientId },
    select: { secretHash: true, previousSecretHash: true, previousSecretExpiresAt: true },
  });
  if (!row) return presented;
  const isPreviousInGrace = row.previousSecretHash !== null && row.previousSecretExpiresAt !== null && row.previousSecretExpiresAt > now && safeEqual(presented, row.previousSecretHash);
  return isPreviousInGrace ? row.secretHash : presented;
}

// Writing lastUsedAt on every token request would turn each one into a row update.
const LAST_USED_GRANULARITY_MS = 60_000;

export async function markServiceAccountUsed(tx: Tx | Db, clientId: string, now = new Date()): Promise<void> {
  await tx.serviceAccount.updateMany({
    where: { clientId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: new Date(now.getTime() - LAST_USED_GRANULARITY_MS) } }] },
    data: { lastUsedAt: now },
  });
}
