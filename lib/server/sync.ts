import "server-only";
import { readFile } from "node:fs/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { SSEClientTransport, SseError } from "@modelcontextprotocol/sdk/client/sse.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { FetchLike } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError, type Prompt, type Resource, type Tool as McpTool } from "@modelcontextprotocol/sdk/types.js";
import packageJson from "@/package.json" with { type: "json" };
import { suggestRiskClass, toolDefinitionHash } from "@/lib/config/tool-definition";
import { AppError, notFound } from "@/lib/errors";
import { Prisma, type Server } from "@/lib/generated/prisma/client";
import type { ServerView, StatusDetail } from "@/lib/schemas/server";
import type { ToolDefinition } from "@/lib/schemas/tool";
import type { Db } from "./db/client";
import { authorize, type Actor } from "./auth/actor";
import { recordConfigChange } from "./audit";
import { decryptSecret } from "./crypto";
import { log } from "./log";
import { getServer } from "./servers";
import { readSettings } from "./settings";
import { assertAllowedUpstream } from "./url-guard";

/** Budget for the whole conversation with the upstream: connect, initialize and every list page. */
export const SYNC_TIMEOUT_MS = 10_000;
// A misbehaving upstream could hand out cursors forever; the deadline bounds time, this bounds memory.
const MAX_PAGES = 100;

export type SyncResult = {
  server: ServerView;
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: number;
  error: StatusDetail | null;
};

export type SyncOptions = { timeoutMs?: number };

/**
 * A failure whose message was written by Portico and is safe to store and show as it is (it never
 * quotes a credential or an upstream's free text).
 */
export class SyncError extends Error {
  readonly retryable: boolean;

  constructor(message: string, retryable = false) {
    super(message);
    this.name = "SyncError";
    this.retryable = retryable;
  }
}

type Credential = { headerName: string; value: string };

type Discovery = {
  tools: ToolDefinition[];
  prompts: Prisma.InputJsonValue[];
  resources: Prisma.InputJsonValue[];
  serverInfo: Prisma.InputJsonValue;
};

/** Round-trips through JSON: what we hash is exactly what the database will hand back later. */
function asJson<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

// ---------------------------------------------------------------------------------------------
// Error description

export type SyncErrorContext = { url?: string; timeoutMs?: number };

const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EAI_NONAME",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EHOSTDOWN",
  "ENETDOWN",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CLOSED",
  "CERT_HAS_EXPIRED",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** The error and its causes, outermost first (fetch hides the socket error in `cause`). */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current = error;
  while (current !== undefined && current !== null && chain.length < 6 && !chain.includes(current)) {
    chain.push(current);
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

function errorCode(error: unknown): unknown {
  return error && typeof error === "object" ? (error as { code?: unknown }).code : undefined;
}

function isTimeout(error: unknown): boolean {
  return causeChain(error).some((e) => {
    if (e instanceof McpError) return e.code === ErrorCode.RequestTimeout;
    const name = e instanceof Error || e instanceof DOMException ? e.name : undefined;
    const code = errorCode(e);
    // AbortError too: the only aborts in a sync are the deadline and the clean-up after it.
    return name === "TimeoutError" || name === "AbortError" || code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT";
  });
}

function isConnectionFailure(error: unknown): boolean {
  if (error instanceof SseError && typeof error.code !== "number") return true;
  return causeChain(error).some((e) => {
    const code = errorCode(e);
    if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
    return e instanceof TypeError && e.message === "fetch failed";
  });
}

function isConnectionRefused(error: unknown): boolean {
  return causeChain(error).some((e) => errorCode(e) === "ECONNREFUSED" || (e instanceof SseError && /\bECONNREFUSED\b/.test(e.message)));
}

function hostPort(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === "https:" ? "443" : "80")}`;
  } catch {
    return null;
  }
}

/** Where a socket error says it was going, for when the caller did not pass the URL. */
function targetFromError(error: unknown): string | null {
  for (const e of causeChain(error)) {
    const { address, port, hostname } = (e ?? {}) as { address?: unknown; port?: unknown; hostname?: unknown };
    if (typeof address === "string" && typeof port === "number") return address.includes(":") ? `[${address}]:${port}` : `${address}:${port}`;
    if (typeof hostname === "string") return hostname;
  }
  return null;
}

function describeHttpStatus(status: number): StatusDetail {
  if (status === 401 || status === 403) return { httpStatus: status, retryable: false, message: "The server refused Portico's credentials" };
  if (status === 404) return { httpStatus: status, retryable: false, message: "No MCP endpoint at this URL" };
  if (status === 405) {
    return { httpStatus: status, retryable: false, message: "The URL does not accept this MCP transport (HTTP 405); check the URL and transport" };
  }
  if (status >= 300 && status < 400) {
    return { httpStatus: status, retryable: false, message: `The server redirected to another address (HTTP ${status}); register the final URL` };
  }
  if (status === 408 || status === 425 || status === 429) {
    return { httpStatus: status, retryable: true, message: `The server is busy (HTTP ${status}); try again later` };
  }
  if (status >= 500) return { httpStatus: status, retryable: true, message: `The server failed with HTTP ${status}` };
  if (status >= 400) return { httpStatus: status, retryable: false, message: `The server rejected the request with HTTP ${status}` };
  return { httpStatus: status, retryable: false, message: `Unexpected HTTP ${status} from the server` };
}

/** An upstream's JSON-RPC error text, cut to one short line: it is the upstream's words, not ours. */
function upstreamText(error: McpError): string {
  const text = error.message.replace(/^MCP error -?\d+:\s*/, "").split("\n")[0]?.trim() ?? "";
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

function describeMcpError(error: McpError): StatusDetail {
  const mcpCode = error.code;
  switch (mcpCode) {
    case ErrorCode.ConnectionClosed:
      return { mcpCode, retryable: true, message: "The server closed the connection before answering" };
    case ErrorCode.MethodNotFound:
      return { mcpCode, retryable: false, message: "The server does not implement a method Portico needs to list its tools" };
    case ErrorCode.InternalError:
      return { mcpCode, retryable: true, message: `The server reported an internal error${upstreamText(error) ? `: ${upstreamText(error)}` : ""}` };
    default: {
      const text = upstreamText(error);
      return { mcpCode, retryable: false, message: `The server answered with MCP error ${mcpCode}${text ? `: ${text}` : ""}` };
    }
  }
}

/**
 * Turns whatever a sync threw into the status detail stored on the server and shown to admins.
 * Messages are Portico's own: never an upstream response body, a credential or a stack trace.
 */
export function describeSyncError(error: unknown, context: SyncErrorContext = {}): StatusDetail {
  const seconds = (context.timeoutMs ?? SYNC_TIMEOUT_MS) / 1000;
  const target = (context.url ? hostPort(context.url) : null) ?? targetFromError(error) ?? "the server";
  const couldNotConnect: StatusDetail = { retryable: true, message: `Could not connect to ${target}` };

  if (error instanceof SyncError) return { retryable: error.retryable, message: error.message };
  if (error instanceof AppError) {
    // The URL guard resolves the host before we connect: a name that stopped resolving is a DNS
    // failure like any other, and may heal on its own.
    if (error.message.includes("does not resolve")) return { retryable: true, message: `${couldNotConnect.message}: the host name does not resolve` };
    return { retryable: false, message: error.message };
  }
  if (error instanceof UnauthorizedError) return describeHttpStatus(401);
  if (error instanceof StreamableHTTPError) {
    const code = error.code;
    if (typeof code === "number" && code >= 100) return describeHttpStatus(code);
    return { retryable: false, message: "The server's answer is not MCP (unexpected content type); check the URL and transport" };
  }
  if (error instanceof SseError && typeof error.code === "number") {
    if (error.code >= 200 && error.code < 300) {
      return { retryable: false, message: "The URL did not open an SSE stream; check the URL and transport" };
    }
    return describeHttpStatus(error.code);
  }
  if (isTimeout(error)) return { retryable: true, message: `Timed out after ${seconds} s` };
  if (error instanceof McpError) return describeMcpError(error);
  // Refused means the host answered and nothing listens on that port: waiting will not help, the
  // URL or the server's process needs a look (unlike a reset or a DNS hiccup).
  if (isConnectionRefused(error)) return { retryable: false, message: `Nothing is listening at ${target}: check the URL and port, and that the server is running` };
  if (isConnectionFailure(error)) return couldNotConnect;
  if (error instanceof Error) {
    // SSEClientTransport reports failed POSTs as a plain Error naming the status.
    const posted = /^Error POSTing to endpoint \(HTTP (\d{3})\)/.exec(error.message);
    if (posted?.[1]) return describeHttpStatus(Number(posted[1]));
    if (error.name === "ZodError") return { retryable: false, message: "The server sent a response that is not valid MCP" };
    if (error.message.startsWith("Server's protocol version is not supported")) {
      return { retryable: false, message: "The server speaks an MCP protocol version Portico does not support" };
    }
    if (error.message.startsWith("Endpoint origin does not match")) {
      return { retryable: false, message: "The SSE server sent its message endpoint on another origin" };
    }
  }
  return { retryable: true, message: "The sync failed unexpectedly; the control plane log has details" };
}

// ---------------------------------------------------------------------------------------------
// Credentials

/** Reads the upstream credential where it lives. Error messages name the reference, never its value. */
async function resolveCredential(server: Server): Promise<Credential | null> {
  if (server.credentialKind === "none") return null;
  const headerName = server.headerName;
  if (!headerName) throw new SyncError("The credential has no header name; edit the server's credential");
  if (server.credentialKind === "header") {
    if (!server.secretEnc) throw new SyncError("The stored credential is missing; set it again");
    try {
      return { headerName, value: decryptSecret(server.secretEnc) };
    } catch {
      throw new SyncError("The stored credential could not be decrypted (has PORTICO_SECRET_KEY changed?); set it again");
    }
  }
  const ref = server.secretRef ?? "";
  if (ref.startsWith("env:")) {
    const value = process.env[ref.slice(4)];
    if (!value) throw new SyncError(`credential reference ${ref} is not set`);
    return { headerName, value };
  }
  if (ref.startsWith("file:")) {
    const path = ref.slice(5);
    let value: string;
    try {
      value = (await readFile(path, "utf8")).trim();
    } catch {
      throw new SyncError(`credential reference ${ref} could not be read`);
    }
    if (!value) throw new SyncError(`credential reference ${ref} is empty`);
    return { headerName, value };
  }
  throw new SyncError("The credential reference is neither env:NAME nor file:/path; edit the server's credential");
}

/** Belt and braces: upstream free text (MCP error messages) could echo what we sent it. */
function withoutSecret(detail: StatusDetail, secret: string | null): StatusDetail {
  if (!secret) return detail;
  const parts = [secret, secret.split(" ").pop() ?? ""].filter((p) => p.length >= 4);
  let message = detail.message;
  for (const part of parts) message = message.split(part).join("••••••");
  return { ...detail, message };
}

// ---------------------------------------------------------------------------------------------
// Talking to the upstream

/** Rejects with the signal's reason when it fires, even if `work` never settles (SSE start has no timeout). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

async function listAllPages<T>(what: string, page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string }>): Promise<T[]> {
  const items: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let n = 0; n < MAX_PAGES; n++) {
    const result = await page(cursor);
    items.push(...result.items);
    if (!result.nextCursor) return items;
    if (seen.has(result.nextCursor)) throw new SyncError(`The server's list of ${what} repeats a page cursor`);
    seen.add(result.nextCursor);
    cursor = result.nextCursor;
  }
  throw new SyncError(`The server listed more than ${MAX_PAGES} pages of ${what}`);
}

function toDefinition(tool: McpTool): ToolDefinition {
  return asJson({
    name: tool.name,
    title: tool.title ?? null,
    description: tool.description ?? "",
    inputSchema: tool.inputSchema,
    outputSchema: tool.outputSchema ?? null,
    annotations: tool.annotations ?? null,
  });
}

function toPromptJson(prompt: Prompt): Prisma.InputJsonValue {
  return asJson({
    name: prompt.name,
    title: prompt.title,
    description: prompt.description,
    arguments: (prompt.arguments ?? []).map((a) => ({ name: a.name, description: a.description, required: a.required })),
  });
}

function toResourceJson(resource: Resource): Prisma.InputJsonValue {
  return asJson({ uri: resource.uri, name: resource.name, mimeType: resource.mimeType, description: resource.description });
}

async function discover(server: Server, credential: Credential | null, timeoutMs: number): Promise<Discovery> {
  const deadline = AbortSignal.timeout(timeoutMs);
  // The SDK overrides requestInit.signal with its own; tying every fetch to the deadline as well is
  // what makes the 10 s hold for the HTTP exchanges, not just for the JSON-RPC bookkeeping.
  const boundedFetch: FetchLike = (url, init) => fetch(url, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline });
  const requestInit: RequestInit = credential ? { headers: { [credential.headerName]: credential.value } } : {};
  const url = new URL(server.url);
  const transport =
    server.transport === "sse"
      ? new SSEClientTransport(url, { requestInit, fetch: boundedFetch })
      : new StreamableHTTPClientTransport(url, { requestInit, fetch: boundedFetch });
  let protocolVersion: string | undefined;
  const setProtocolVersion = transport.setProtocolVersion.bind(transport);
  transport.setProtocolVersion = (version: string) => {
    protocolVersion = version;
    setProtocolVersion(version);
  };
  const client = new Client({ name: "portico", version: packageJson.version ?? "0.1.0" }, { capabilities: {} });
  const options = { signal: deadline, timeout: timeoutMs };

  const run = async (): Promise<Discovery> => {
    await client.connect(transport, options);
    const capabilities = client.getServerCapabilities() ?? {};
    const tools = capabilities.tools
      ? await listAllPages("tools", async (cursor) => {
          const r = await client.listTools(cursor ? { cursor } : undefined, options);
          return { items: r.tools, nextCursor: r.nextCursor };
        })
      : [];
    const prompts = capabilities.prompts
      ? await listAllPages("prompts", async (cursor) => {
          const r = await client.listPrompts(cursor ? { cursor } : undefined, options);
          return { items: r.prompts, nextCursor: r.nextCursor };
        })
      : [];
    const resources = capabilities.resources
      ? await listAllPages("resources", async (cursor) => {
          const r = await client.listResources(cursor ? { cursor } : undefined, options);
          return { items: r.resources, nextCursor: r.nextCursor };
        })
      : [];
    const info = client.getServerVersion();
    const instructions = client.getInstructions();
    return {
      tools: tools.map(toDefinition),
      prompts: prompts.map(toPromptJson),
      resources: resources.map(toResourceJson),
      serverInfo: asJson({ name: info?.name, version: info?.version, protocolVersion, ...(instructions ? { instructions } : {}) }),
    };
  };

  try {
    return await untilAborted(run(), deadline);
  } finally {
    await client.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// The sync

function sameConnection(a: Server, b: Server): boolean {
  return (
    a.url === b.url &&
    a.transport === b.transport &&
    a.credentialKind === b.credentialKind &&
    a.headerName === b.headerName &&
    a.secretEnc === b.secretEnc &&
    a.secretRef === b.secretRef
  );
}

/**
 * Asks an upstream what it offers now and reconciles the stored tools with it. A tool whose
 * definition drifted keeps its pinned definition in force and waits, quarantined, for an admin to
 * accept the new one (the tool-poisoning / rug-pull defence). A failed sync keeps every known tool.
 */
export async function syncServer(db: Db, actor: Actor, serverId: string, options: SyncOptions = {}): Promise<SyncResult> {
  authorize(actor, "registry:write");
  const server = await db.server.findUnique({ where: { id: serverId } });
  if (!server) throw notFound("Server");
  const timeoutMs = options.timeoutMs ?? SYNC_TIMEOUT_MS;
  const settings = await readSettings(db);

  // Network I/O happens here, before any transaction is opened.
  let secret: string | null = null;
  let discovery: Discovery | null = null;
  let failure: StatusDetail | null = null;
  try {
    // DNS may point somewhere else than it did at registration.
    await assertAllowedUpstream(server.url, settings);
    const credential = await resolveCredential(server);
    secret = credential?.value ?? null;
    discovery = await discover(server, credential, timeoutMs);
  } catch (error) {
    failure = withoutSecret(describeSyncError(error, { url: server.url, timeoutMs }), secret);
    log("warn", "upstream sync failed", {
      serverId,
      slug: server.slug,
      error: error instanceof Error ? error.name : typeof error,
      ...failure,
    });
  }

  const outcome = await db.$transaction(async (tx) => {
    // One sync of a server at a time: two concurrent ones would both insert the same new tool.
    await tx.$executeRaw`SELECT 1 FROM "Server" WHERE "id" = ${serverId} FOR UPDATE`;
    const current = await tx.server.findUnique({ where: { id: serverId } });
    if (!current) throw notFound("Server");
    if (!sameConnection(server, current)) {
      throw new AppError("conflict", "The server's address or credential changed during the sync; sync again");
    }
    const added: string[] = [];
    const changed: string[] = [];
    const removed: string[] = [];
    let unchanged = 0;

    if (!discovery) {
      await tx.server.update({ where: { id: serverId }, data: { status: "error", statusDetail: failure ?? Prisma.DbNull } });
    } else {
      const existing = new Map((await tx.tool.findMany({ where: { serverId } })).map((t) => [t.name, t]));
      const live = new Map<string, ToolDefinition>();
      // An upstream listing one name twice would break the (serverId, name) key; the first wins.
      for (const def of discovery.tools) if (!live.has(def.name)) live.set(def.name, def);

      for (const def of live.values()) {
        const hash = toolDefinitionHash(def);
        const row = existing.get(def.name);
        if (!row) {
          await tx.tool.create({
            data: {
              serverId,
              name: def.name,
              title: def.title ?? null,
              description: def.description,
              inputSchema: (def.inputSchema ?? {}) as Prisma.InputJsonValue,
              outputSchema: def.outputSchema == null ? Prisma.DbNull : (def.outputSchema as Prisma.InputJsonValue),
              annotations: def.annotations == null ? Prisma.DbNull : (def.annotations as Prisma.InputJsonValue),
              definitionHash: hash,
              state: "active",
              riskClass: suggestRiskClass(def.annotations),
            },
          });
          added.push(def.name);
        } else if (hash === row.definitionHash) {
          if (row.state === "active") {
            unchanged++;
            continue;
          }
          // The pinned definition is back: a reverted drift needs no review, a returning tool is usable again.
          await tx.tool.update({ where: { id: row.id }, data: { state: "active", pendingDefinition: Prisma.DbNull, pendingHash: null } });
          if (row.state === "removed") added.push(def.name);
          else unchanged++;
        } else if (row.state === "changed" && row.pendingHash === hash) {
          unchanged++;
        } else {
          // The pinned columns (and the risk class) stay as they are until an admin accepts the change.
          await tx.tool.update({
            where: { id: row.id },
            data: { state: "changed", pendingDefinition: def as unknown as Prisma.InputJsonValue, pendingHash: hash },
          });
          changed.push(def.name);
        }
      }
      for (const row of existing.values()) {
        if (live.has(row.name) || row.state === "removed") continue;
        await tx.tool.update({ where: { id: row.id }, data: { state: "removed" } });
        removed.push(row.name);
      }
      await tx.server.update({
        where: { id: serverId },
        data: {
          status: "ready",
          statusDetail: Prisma.DbNull,
          serverInfo: discovery.serverInfo,
          prompts: discovery.prompts,
          resources: discovery.resources,
          lastSyncedAt: new Date(),
        },
      });
    }

    const status = discovery ? "ready" : "error";
    await recordConfigChange(tx, actor, {
      action: "server.sync",
      targetType: "server",
      targetId: serverId,
      before: { status: current.status },
      after: { status, added, changed, removed, ...(failure ? { error: failure } : {}) },
    });
    return { added, changed, removed, unchanged };
  });

  return { server: await getServer(db, actor, serverId), ...outcome, error: failure };
}
