import "server-only";
import type { Adapter, AdapterFactory, AdapterPayload } from "oidc-provider";
import type { Prisma } from "@/lib/generated/prisma/client";
import type { Db } from "../db/client";
import { describeError, log } from "../log";
import { isServiceAccountClientId } from "../service-accounts";
import { serviceAccountClientMetadata } from "./clients";

// Expired rows are swept now and then by whichever process writes; reads ignore them anyway.
const SWEEP_EVERY_MS = 10 * 60_000;
let lastSweep = 0;

const epoch = (date: Date) => Math.floor(date.getTime() / 1000);

/**
 * oidc-provider's storage in Postgres (`OAuthPayload`, one row per model and id), so sessions,
 * codes, grants and refresh tokens survive restarts and are shared by every control-plane process.
 *
 * The `Client` model is special: service-account clients are read from `ServiceAccount` (live, so a
 * disabled or expired account is refused at once) and can never be written through here; other
 * clients (dynamic registration, later) are stored like any payload.
 */
class PrismaAdapter implements Adapter {
  constructor(
    private readonly db: Db,
    private readonly model: string,
  ) {}

  private key(id: string) {
    return { type_id: { type: this.model, id } };
  }

  private isServiceAccountClient(id: string) {
    return this.model === "Client" && isServiceAccountClientId(id);
  }

  async upsert(id: string, payload: AdapterPayload, expiresIn?: number): Promise<void> {
    // Nothing may register or overwrite a client in the service accounts' id space.
    if (this.isServiceAccountClient(id)) throw new Error("Service-account clients are managed in the dashboard");
    const now = Date.now();
    const data = {
      payload: payload as unknown as Prisma.InputJsonValue,
      grantId: payload.grantId ?? null,
      userCode: payload.userCode ?? null,
      uid: payload.uid ?? null,
      expiresAt: expiresIn ? new Date(now + expiresIn * 1000) : null,
    };
    await this.db.oAuthPayload.upsert({ where: this.key(id), create: { type: this.model, id, ...data }, update: data });
    if (now - lastSweep > SWEEP_EVERY_MS) {
      lastSweep = now;
      await this.db.oAuthPayload.deleteMany({ where: { expiresAt: { lt: new Date(now) } } }).catch((error: unknown) => log("warn", "could not sweep expired OAuth state", describeError(error)));
    }
  }

  private toPayload(row: { payload: Prisma.JsonValue; expiresAt: Date | null; consumedAt: Date | null } | null): AdapterPayload | undefined {
    if (!row || (row.expiresAt && row.expiresAt.getTime() <= Date.now())) return undefined;
    const payload = row.payload as unknown as AdapterPayload;
    return row.consumedAt ? { ...payload, consumed: epoch(row.consumedAt) } : payload;
  }

  async find(id: string): Promise<AdapterPayload | undefined> {
    if (this.isServiceAccountClient(id)) return serviceAccountClientMetadata(this.db, id);
    return this.toPayload(await this.db.oAuthPayload.findUnique({ where: this.key(id) }));
  }

  async findByUid(uid: string): Promise<AdapterPayload | undefined> {
    return this.toPayload(await this.db.oAuthPayload.findFirst({ where: { type: this.model, uid } }));
  }

  async findByUserCode(userCode: string): Promise<AdapterPayload | undefined> {
    return this.toPayload(await this.db.oAuthPayload.findFirst({ where: { type: this.model, userCode } }));
  }

  async consume(id: string): Promise<void> {
    await this.db.oAuthPayload.updateMany({ where: { type: this.model, id, consumedAt: null }, data: { consumedAt: new Date() } });
  }

  async destroy(id: string): Promise<void> {
    if (this.isServiceAccountClient(id)) return;
    await this.db.oAuthPayload.deleteMany({ where: { type: this.model, id } });
  }

  async revokeByGrantId(grantId: string): Promise<void> {
    await this.db.oAuthPayload.deleteMany({ where: { type: this.model, grantId } });
  }
}

export function prismaAdapter(db: Db): AdapterFactory {
  return (model: string) => new PrismaAdapter(db, model);
}
