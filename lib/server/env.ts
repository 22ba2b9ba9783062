import "server-only";
import path from "node:path";
import { z } from "zod";

const roleName = z.enum(["admin", "approver", "auditor", "viewer"]);

// `group=role` pairs, comma separated: how IdP groups become dashboard roles.
const roleMap = z
  .string()
  .default("")
  .transform((text, ctx) => {
    const map: Record<string, z.infer<typeof roleName>> = {};
    for (const pair of text.split(",").map((p) => p.trim()).filter(Boolean)) {
      const [group, role] = pair.split("=").map((s) => s.trim());
      const parsed = roleName.safeParse(role);
      if (!group || !parsed.success) {
        ctx.addIssue({ code: "custom", message: `OIDC_ROLE_MAP: "${pair}" is not group=admin|approver|auditor|viewer` });
        return z.NEVER;
      }
      map[group] = parsed.data;
    }
    return map;
  });

const schema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "must be a postgres:// URL").optional(),
  PORTICO_DATA_DIR: z.string().default(".data"),
  // 32 bytes, base64: the AES-256-GCM key for upstream secrets and TOTP seeds.
  PORTICO_SECRET_KEY: z
    .string()
    .refine((v) => Buffer.from(v, "base64").length === 32, "must be 32 bytes, base64 encoded")
    .optional(),
  PORTICO_GATEWAY_URL: z.string().url().default("http://127.0.0.1:4000"),
  PORTICO_CONTROL_PLANE_URL: z.string().url().default("http://localhost:3000"),
  // Shared by the control plane and its gateways: config pushes, pulls, heartbeats, audit ingest.
  PORTICO_GATEWAY_TOKEN: z.string().min(32, "must be at least 32 characters").optional(),
  SESSION_MAX_AGE_HOURS: z.coerce.number().positive().max(24 * 30).default(8),
  LOCKOUT_THRESHOLD: z.coerce.number().int().min(1).max(100).default(5),
  LOCKOUT_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_CLIENT_ID: z.string().optional(),
  OIDC_CLIENT_SECRET: z.string().optional(),
  OIDC_NAME: z.string().default("Company SSO"),
  OIDC_SCOPE: z.string().default("openid email profile groups"),
  OIDC_GROUPS_CLAIM: z.string().default("groups"),
  OIDC_ROLE_MAP: roleMap,
  OIDC_DEFAULT_ROLE: roleName.or(z.literal("none")).default("viewer"),
});

export type Env = z.infer<typeof schema>;

let cached: Env | undefined;

/** Validated environment. A bad value stops the process with the variable's name, never its value. */
export function env(): Env {
  if (cached) return cached;
  const parsed = schema.safeParse(process.env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`Invalid environment: ${problems}`);
  }
  cached = parsed.data;
  return cached;
}

export function dataDir(): string {
  return path.resolve(env().PORTICO_DATA_DIR);
}

export function isOidcConfigured(): boolean {
  const e = env();
  return Boolean(e.OIDC_ISSUER && e.OIDC_CLIENT_ID && e.OIDC_CLIENT_SECRET);
}
