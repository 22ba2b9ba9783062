import os from "node:os";
import path from "node:path";
import { z } from "zod";

import { trustedProxies, type TrustedProxies } from "@/lib/client-address";
import { deriveGatewayCredentialKey } from "@/lib/config/sealed-credential";

import { DEFAULT_MAX_BODY_BYTES } from "./http-util";

// The gateway reads its own environment: lib/server/env is the control plane's and pulls in
// `server-only`, which refuses to load outside a React Server Components bundle.
const schema = z.object({
  PORT: z.coerce.number().int().min(0).max(65_535).default(4000),
  HOST: z.string().default("127.0.0.1"),
  PORTICO_CONTROL_PLANE_URL: z.string().url().default("http://localhost:3000"),
  PORTICO_GATEWAY_URL: z.string().url().default("http://127.0.0.1:4000"),
  PORTICO_GATEWAY_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  PORTICO_GATEWAY_NAME: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, "use letters, digits, . _ -")
    .optional(),
  PORTICO_SECRET_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64 encoded")
    .optional(),
  // Alternative to PORTICO_SECRET_KEY: only the derived key that opens snapshot credentials
  // (lib/config/sealed-credential.ts), so this gateway cannot read the control plane's secrets.
  PORTICO_GATEWAY_CREDENTIAL_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64 encoded")
    .optional(),
  PORTICO_GATEWAY_DATA_DIR: z.string().default(".data/gateway"),
  // Comma-separated extra origins allowed to call /mcp from a browser.
  PORTICO_ALLOWED_ORIGINS: z.string().default(""),
  PORTICO_UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(30_000),
  PORTICO_GATEWAY_MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(64 * 1024 * 1024).default(DEFAULT_MAX_BODY_BYTES),
  // Where the control plane reaches this very replica (config push). Behind a load balancer the
  // public PORTICO_GATEWAY_URL is shared by every replica, and a push sent there reaches only one.
  PORTICO_GATEWAY_ADVERTISE_URL: z.string().url().optional(),
  // Comma-separated addresses or CIDRs of the load balancers in front: their X-Forwarded-For
  // entry is believed (lib/client-address.ts); default none, the socket's address is the client.
  PORTICO_TRUSTED_PROXIES: z.string().max(10_000).default(""),
  // Sockets open at most to one upstream origin; calls past it wait for a free one.
  PORTICO_UPSTREAM_MAX_SOCKETS: z.coerce.number().int().min(1).max(10_000).default(64),
  // Legacy sessions: idle timeout with a GET stream open, without one (and nothing in flight), and a cap.
  PORTICO_GATEWAY_SESSION_IDLE_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(2 * 3600),
  PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS: z.coerce.number().int().min(1).max(7 * 24 * 3600).default(300),
  PORTICO_GATEWAY_MAX_SESSIONS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  // A load balancer routes legacy sessions on this prefix of the Mcp-Session-Id (deploy/fleet).
  PORTICO_GATEWAY_ROUTE: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, "use 1 to 32 letters, digits, _ -")
    .optional(),
});

export type GatewayEnv = {
  port: number;
  host: string;
  controlPlaneUrl: string;
  gatewayUrl: string;
  gatewayToken: string | undefined;
  gatewayName: string;
  /** Opens `header` credentials in snapshots; from PORTICO_GATEWAY_CREDENTIAL_KEY or derived from PORTICO_SECRET_KEY. */
  credentialKey: Buffer | undefined;
  dataDir: string;
  allowedOrigins: string[];
  upstreamTimeoutMs: number;
  /** Largest MCP request body, refused with 413 while it is read. Default DEFAULT_MAX_BODY_BYTES. */
  maxBodyBytes?: number;
  /** Where the control plane pushes config to this replica; default `gatewayUrl`. */
  advertiseUrl?: string;
  /** Which socket addresses are proxies whose X-Forwarded-For entry names the client. */
  trustedProxies?: TrustedProxies;
  /** Legacy session ids are `<route>.<uuid>`, so a load balancer can pin a session to this replica. */
  sessionRoute?: string;
  /** Legacy sessions: idle timeout with a GET stream open; without one and nothing in flight; the cap (sessions.ts). */
  sessionIdleMs?: number;
  detachedIdleMs?: number;
  maxSessions?: number;
  /** Sockets open at most to one upstream origin (upstreams.ts). */
  upstreamMaxSockets?: number;
};

const trimSlash = (url: string) => url.replace(/\/+$/, "");

/** Validated environment. A bad value stops the process naming the variable, never its value. */
export function readGatewayEnv(source: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid environment: ${problems}`);
  }
  const e = parsed.data;
  let proxies: TrustedProxies;
  try {
    proxies = trustedProxies(e.PORTICO_TRUSTED_PROXIES);
  } catch (error) {
    throw new Error(`Invalid environment: ${(error as Error).message}`);
  }
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, "-").slice(0, 80) || "gateway";
  return {
    port: e.PORT,
    host: e.HOST,
    controlPlaneUrl: trimSlash(e.PORTICO_CONTROL_PLANE_URL),
    gatewayUrl: trimSlash(e.PORTICO_GATEWAY_URL),
    gatewayToken: e.PORTICO_GATEWAY_TOKEN,
    gatewayName: e.PORTICO_GATEWAY_NAME ?? `gateway-${host}`,
    credentialKey: e.PORTICO_GATEWAY_CREDENTIAL_KEY
      ? Buffer.from(e.PORTICO_GATEWAY_CREDENTIAL_KEY, "base64")
      : e.PORTICO_SECRET_KEY
        ? deriveGatewayCredentialKey(e.PORTICO_SECRET_KEY)
        : undefined,
    dataDir: path.resolve(e.PORTICO_GATEWAY_DATA_DIR),
    allowedOrigins: e.PORTICO_ALLOWED_ORIGINS.split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    upstreamTimeoutMs: e.PORTICO_UPSTREAM_TIMEOUT_MS,
    maxBodyBytes: e.PORTICO_GATEWAY_MAX_BODY_BYTES,
    advertiseUrl: e.PORTICO_GATEWAY_ADVERTISE_URL ? trimSlash(e.PORTICO_GATEWAY_ADVERTISE_URL) : undefined,
    sessionRoute: e.PORTICO_GATEWAY_ROUTE,
    sessionIdleMs: e.PORTICO_GATEWAY_SESSION_IDLE_SECONDS * 1000,
    detachedIdleMs: e.PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS * 1000,
    maxSessions: e.PORTICO_GATEWAY_MAX_SESSIONS,
    upstreamMaxSockets: e.PORTICO_UPSTREAM_MAX_SOCKETS,
    trustedProxies: proxies,
  };
}
