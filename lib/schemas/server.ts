import { z } from "zod";
import { description, listParams, name, text } from "./common";

// The slug becomes the `<server>_` prefix of tool names at the gateway, so it may not contain
// the separator and must leave room for the tool name within MCP's 64 characters.
export const serverSlug = text()
  .trim()
  .toLowerCase()
  .min(2, "At least 2 characters")
  .max(24, "At most 24 characters")
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, "Use lowercase letters, digits and dashes (no underscores)");

const headerName = text()
  .trim()
  .min(1, "Required")
  .max(100)
  .regex(/^[A-Za-z0-9-]+$/, "Not a valid HTTP header name");

export const credentialInput = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("none") }),
  z.object({ kind: z.literal("header"), headerName, value: text().min(1, "Required").max(8192) }),
  z.object({
    kind: z.literal("reference"),
    headerName,
    ref: text()
      .trim()
      .regex(/^(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:\/[^\0]{1,1024})$/, "Use env:NAME or file:/absolute/path"),
  }),
]);
export type CredentialInput = z.infer<typeof credentialInput>;

export const transports = ["streamable_http", "sse"] as const;

export const serverUrl = text()
  .trim()
  .max(2048)
  .pipe(z.url({ protocol: /^https?$/, error: "Use an http:// or https:// URL" }));

// Fields without defaults: zod 4 applies defaults even inside .partial(), which would make a
// PATCH reset every field it did not name.
const serverFields = {
  slug: serverSlug,
  name,
  description,
  url: serverUrl,
  transport: z.enum(transports),
  credential: credentialInput,
  /** Relay this server's requests to clients (issue 17); off, the gateway refuses them at once. */
  allowSampling: z.boolean(),
  allowElicitation: z.boolean(),
};

export const createServerInput = z.object({
  ...serverFields,
  description: description.default(""),
  transport: serverFields.transport.default("streamable_http"),
  credential: credentialInput.default({ kind: "none" }),
  allowSampling: serverFields.allowSampling.default(true),
  allowElicitation: serverFields.allowElicitation.default(true),
});
export type CreateServerInput = z.input<typeof createServerInput>;

// Omitting `credential` keeps the stored one: a form never has to send the secret back.
export const updateServerInput = z.object(serverFields).partial().refine((v) => Object.keys(v).length > 0, "Nothing to update");
export type UpdateServerInput = z.input<typeof updateServerInput>;

export const serverStatuses = ["waiting", "ready", "error", "stale"] as const;

export const listServersParams = listParams.extend({ status: z.enum(serverStatuses).optional() });

export const statusDetail = z.object({
  httpStatus: z.number().int().optional(),
  mcpCode: z.number().int().optional(),
  retryable: z.boolean(),
  message: text(),
});
export type StatusDetail = z.infer<typeof statusDetail>;

export type ServerView = {
  id: string;
  slug: string;
  name: string;
  description: string;
  url: string;
  transport: (typeof transports)[number];
  credential: { kind: "none" | "header" | "reference"; headerName: string | null; ref: string | null; hasSecret: boolean };
  allowSampling: boolean;
  allowElicitation: boolean;
  status: (typeof serverStatuses)[number];
  statusDetail: StatusDetail | null;
  lastSyncedAt: string | null;
  toolCount: number;
  changedToolCount: number;
  promptCount: number;
  resourceCount: number;
  createdAt: string;
  updatedAt: string;
};
