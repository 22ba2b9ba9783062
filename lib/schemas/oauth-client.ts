import { z } from "zod";
import { listParams, name, text } from "./common";

export const listConnectedClientsParams = listParams.extend({ all: z.enum(["true", "false"]).optional() });

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Where an MCP client gets its code back: https, or http on this machine's loopback (CLIs and desktop
 * apps listen there, RFC 8252), never with a fragment. Matched exactly, so write it as the client sends it.
 */
export const redirectUri = text()
  .trim()
  .max(2000)
  .refine((value) => {
    const url = URL.parse(value);
    if (!url || url.hash || value.includes("#")) return false;
    return url.protocol === "https:" || (url.protocol === "http:" && LOOPBACK.has(url.hostname));
  }, "Use an https:// URL, or http:// on localhost or 127.0.0.1, without a #fragment");

export const createOAuthClientInput = z.object({
  name,
  redirectUris: z.array(redirectUri).min(1, "Add at least one redirect URI").max(20).refine((l) => new Set(l).size === l.length, "Each redirect URI once"),
  clientUri: text().trim().url().max(2000).refine((v) => v.startsWith("https://"), "Use an https:// URL").optional(),
});
export type CreateOAuthClientInput = z.input<typeof createOAuthClientInput>;

export type ConnectedClientView = {
  id: string;
  user: { id: string; email: string };
  clientId: string;
  clientName: string;
  portal: string | null;
  resource: string;
  scope: string;
  createdAt: string;
  lastUsedAt: string | null;
};

export type OAuthClientView = {
  clientId: string;
  name: string;
  /** registered: by an admin here; dynamic: by the client itself (RFC 7591). */
  kind: "registered" | "dynamic";
  redirectUris: string[];
  clientUri: string | null;
  createdAt: string;
  connections: number;
};
