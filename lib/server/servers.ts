import "server-only";
import {
  createServerInput,
  listServersParams,
  statusDetail as statusDetailSchema,
  updateServerInput,
  type CredentialInput,
  type ServerView,
} from "@/lib/schemas/server";
import type { Page } from "@/lib/schemas/common";
import { notFound } from "@/lib/errors";
import type { Prisma, Server } from "@/lib/generated/prisma/client";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { encryptSecret } from "./crypto";
import { iso, pageArgs, toPage } from "./pagination";
import { readSettings } from "./settings";
import { assertAllowedUpstream } from "./url-guard";

type ServerRow = Server & { tools?: { state: string }[] };

function toView(row: ServerRow): ServerView {
  const tools = row.tools ?? [];
  const detail = statusDetailSchema.safeParse(row.statusDetail);
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    description: row.description,
    url: row.url,
    transport: row.transport,
    credential: { kind: row.credentialKind, headerName: row.headerName, ref: row.secretRef, hasSecret: Boolean(row.secretEnc) },
    allowSampling: row.allowSampling,
    allowElicitation: row.allowElicitation,
    status: row.status,
    statusDetail: detail.success ? detail.data : null,
    lastSyncedAt: iso(row.lastSyncedAt),
    toolCount: tools.filter((t) => t.state !== "removed").length,
    changedToolCount: tools.filter((t) => t.state === "changed").length,
    promptCount: Array.isArray(row.prompts) ? row.prompts.length : 0,
    resourceCount: Array.isArray(row.resources) ? row.resources.length : 0,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

const withTools = { tools: { select: { state: true } } } as const;

function credentialColumns(credential: CredentialInput) {
  switch (credential.kind) {
    case "none":
      return { credentialKind: "none" as const, headerName: null, secretEnc: null, secretRef: null };
    case "header":
      return { credentialKind: "header" as const, headerName: credential.headerName, secretEnc: encryptSecret(credential.value), secretRef: null };
    case "reference":
      return { credentialKind: "reference" as const, headerName: credential.headerName, secretEnc: null, secretRef: credential.ref };
  }
}

function isSameReference(before: { credentialKind: string; headerName: string | null; secretRef: string | null }, credential: CredentialInput): boolean {
  if (credential.kind === "none") return before.credentialKind === "none";
  return credential.kind === "reference" && before.credentialKind === "reference" && before.secretRef === credential.ref && before.headerName === credential.headerName;
}

export async function listServers(db: Db, actor: Actor, raw: unknown): Promise<Page<ServerView>> {
  authorize(actor, "registry:read");
  const params = listServersParams.parse(raw);
  const where: Prisma.ServerWhereInput = {
    ...(params.status ? { status: params.status } : {}),
    ...(params.q
      ? { OR: [{ name: { contains: params.q, mode: "insensitive" } }, { slug: { contains: params.q, mode: "insensitive" } }, { url: { contains: params.q, mode: "insensitive" } }] }
      : {}),
  };
  const rows = await db.server.findMany({ where, include: withTools, orderBy: [{ name: "asc" }, { id: "asc" }], ...pageArgs(params) });
  return toPage(rows, params.limit, toView);
}

export async function getServer(db: Db, actor: Actor, id: string): Promise<ServerView> {
  authorize(actor, "registry:read");
  const row = await db.server.findUnique({ where: { id }, include: withTools });
  if (!row) throw notFound("Server");
  return toView(row);
}

export async function getServerDetail(db: Db, actor: Actor, id: string) {
  const view = await getServer(db, actor, id);
  const row = await db.server.findUniqueOrThrow({ where: { id }, select: { prompts: true, resources: true, serverInfo: true } });
  return { ...view, prompts: row.prompts, resources: row.resources, serverInfo: row.serverInfo };
}

export async function createServer(db: Db, actor: Actor, raw: unknown): Promise<ServerView> {
  authorize(actor, "registry:write");
  const input = createServerInput.parse(raw);
  await assertAllowedUpstream(input.url, await readSettings(db));
  return db.$transaction(async (tx) => {
    const row = await tx.server.create({
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        url: input.url,
        transport: input.transport,
        allowSampling: input.allowSampling,
        allowElicitation: input.allowElicitation,
        ...credentialColumns(input.credential),
      },
      include: withTools,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "server.create", targetType: "server", targetId: row.id, after: view });
    return view;
  });
}

export async function updateServer(db: Db, actor: Actor, id: string, raw: unknown): Promise<ServerView> {
  authorize(actor, "registry:write");
  const input = updateServerInput.parse(raw);
  if (input.url) await assertAllowedUpstream(input.url, await readSettings(db));
  return db.$transaction(async (tx) => {
    const before = await tx.server.findUnique({ where: { id }, include: withTools });
    if (!before) throw notFound("Server");
    // A new address or credential means the tools we know may no longer be what is there.
    const connectionChanged =
      (input.url !== undefined && input.url !== before.url) ||
      (input.transport !== undefined && input.transport !== before.transport) ||
      input.credential !== undefined;
    const row = await tx.server.update({
      where: { id },
      data: {
        slug: input.slug,
        name: input.name,
        description: input.description,
        url: input.url,
        transport: input.transport,
        allowSampling: input.allowSampling,
        allowElicitation: input.allowElicitation,
        ...(input.credential ? credentialColumns(input.credential) : {}),
        // Saving a credential is rotating it, except the same reference saved again (the secret behind it is unchanged to us).
        ...(input.credential && !isSameReference(before, input.credential) ? { credentialSetAt: new Date() } : {}),
        ...(connectionChanged && before.status === "ready" ? { status: "stale" as const } : {}),
      },
      include: withTools,
    });
    const view = toView(row);
    await recordConfigChange(tx, actor, { action: "server.update", targetType: "server", targetId: id, before: toView(before), after: view });
    return view;
  });
}

export async function deleteServer(db: Db, actor: Actor, id: string): Promise<void> {
  authorize(actor, "registry:write");
  await db.$transaction(async (tx) => {
    const before = await tx.server.findUnique({ where: { id }, include: withTools });
    if (!before) throw notFound("Server");
    await tx.server.delete({ where: { id } });
    await recordConfigChange(tx, actor, { action: "server.delete", targetType: "server", targetId: id, before: toView(before) });
  });
}
