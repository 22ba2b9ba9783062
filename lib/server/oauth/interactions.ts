import "server-only";
import { randomUUID } from "node:crypto";
import type Provider from "oidc-provider";
import type { Db } from "../db/client";
import { appendAuditEvents } from "../audit";
import { MCP_SCOPE, portalSlugFromResource } from "./resource";

/**
 * The sign-in and consent step of an authorization request, as the dashboard page sees it. The
 * oidc-provider instance lives in the control plane's server process (server.ts registers it); the
 * page, rendered by Next.js in the same process, reaches it through `runningProvider()`.
 */

const REGISTRY = Symbol.for("portico.oauth.provider");
const RELOAD = Symbol.for("portico.oauth.reload");
type Registry = { [REGISTRY]?: Provider; [RELOAD]?: () => Promise<void> };

export function registerRunningProvider(provider: Provider, reload?: () => Promise<void>) {
  (globalThis as Registry)[REGISTRY] = provider;
  if (reload) (globalThis as Registry)[RELOAD] = reload;
}

/** Rebuilds the running provider (after a key rotation); false when none runs in this process. */
export async function reloadRunningProvider(): Promise<boolean> {
  const reload = (globalThis as Registry)[RELOAD];
  if (!reload) return false;
  await reload();
  return true;
}

export function runningProvider(): Provider {
  const provider = (globalThis as Registry)[REGISTRY];
  if (!provider) throw new Error("The authorization server is not running in this process (start the control plane with server.ts)");
  return provider;
}

const OIDC_SCOPES = new Set(["openid", "offline_access", "email", "profile", MCP_SCOPE]);
const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

export type ClientKind = "metadata_document" | "dynamic" | "registered";

export type AuthorizationRequestView = {
  uid: string;
  client: { id: string; name: string; kind: ClientKind; uri: string | null };
  redirectUri: string;
  redirectHost: string;
  /** The code goes to this machine only: fine for a CLI or desktop client, odd for a web app. */
  redirectIsLoopback: boolean;
  portal: { slug: string; name: string; url: string } | null;
  scopes: string[];
};

type PendingInteraction = InstanceType<Provider["Interaction"]>;

export type LoadedRequest = { interaction: PendingInteraction; view: AuthorizationRequestView; oidcScope: string; resource: string | null; clientId: string; clientName: string };

const single = (value: unknown) => (Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value);

export const DYNAMIC_CLIENT_PREFIX = "dyn_";

function clientKind(clientId: string): ClientKind {
  if (/^https:\/\//i.test(clientId)) return "metadata_document";
  if (clientId.startsWith(DYNAMIC_CLIENT_PREFIX)) return "dynamic";
  return "registered";
}

/** The pending request behind `uid`, or null when it expired, was finished, or never existed. */
export async function loadAuthorizationRequest(provider: Provider, db: Db, uid: string): Promise<LoadedRequest | null> {
  const interaction = await provider.Interaction.find(uid);
  if (!interaction || interaction.result) return null;
  const params = interaction.params as Record<string, unknown>;
  const clientId = String(params.client_id ?? "");
  const client = await provider.Client.find(clientId).catch(() => undefined);
  if (!client) return null;
  const redirectUri = String(params.redirect_uri ?? "");
  const redirect = URL.parse(redirectUri);
  const resource = typeof single(params.resource) === "string" ? (single(params.resource) as string) : null;
  const slug = resource ? portalSlugFromResource(resource) : null;
  const portal = slug ? await db.portal.findUnique({ where: { slug }, select: { slug: true, name: true } }) : null;
  const requested = String(params.scope ?? "").split(" ").filter(Boolean);
  const oidcScope = requested.filter((s) => OIDC_SCOPES.has(s)).join(" ");
  const clientName = typeof client.clientName === "string" && client.clientName.trim() ? client.clientName.trim().slice(0, 200) : clientId;
  return {
    interaction,
    view: {
      uid,
      client: { id: clientId, name: clientName, kind: clientKind(clientId), uri: typeof client.clientUri === "string" ? client.clientUri : null },
      redirectUri,
      redirectHost: redirect?.host ?? redirectUri,
      redirectIsLoopback: redirect ? LOOPBACK_HOSTS.has(redirect.hostname) || redirect.hostname.startsWith("127.") : false,
      portal: portal && resource ? { ...portal, url: resource } : null,
      scopes: [MCP_SCOPE, ...requested.filter((s) => OIDC_SCOPES.has(s) && s !== MCP_SCOPE)],
    },
    oidcScope,
    resource,
    clientId,
    clientName,
  };
}

/** Whether this person already approved this client for this portal, with at least these scopes. */
export async function rememberedConsent(db: Db, userId: string, request: LoadedRequest) {
  if (!request.resource) return null;
  const consent = await db.oAuthConsent.findUnique({ where: { userId_clientId_resource: { userId, clientId: request.clientId, resource: request.resource } } });
  if (!consent) return null;
  const granted = new Set(consent.scope.split(" "));
  return request.oidcScope.split(" ").filter(Boolean).every((s) => granted.has(s)) ? consent : null;
}

/** Whether the person may use the portal at all: `helpers`, the admins to ask when they may not. */
export type PortalAccess = { hasRole: true } | { hasRole: false; helpers: string[] };

const MAX_HELPERS = 3;

/**
 * Whether a portal role names this person (by user id, email or IdP group) and grants anything on
 * the portal. Without one the gateway refuses every call, so connecting a client would only hand
 * out a token that does nothing: the page says so instead, and names admins who can grant a role.
 */
export async function portalAccessFor(db: Db, userId: string, portalSlug: string): Promise<PortalAccess> {
  const user = await db.user.findUnique({ where: { id: userId }, select: { id: true, email: true, idpGroups: true } });
  if (user) {
    const roles = await db.portalRole.findMany({ where: { grants: { some: { portal: { slug: portalSlug } } } }, select: { principals: { select: { kind: true, value: true } } } });
    const email = user.email.toLowerCase();
    const named = roles.some((role) =>
      role.principals.some((p) => (p.kind === "group" ? user.idpGroups.includes(p.value) : p.kind === "user" && (p.value === user.id || p.value.toLowerCase() === email))),
    );
    if (named) return { hasRole: true };
  }
  const admins = await db.user.findMany({ where: { role: "admin", disabled: false }, select: { email: true }, orderBy: { email: "asc" }, take: MAX_HELPERS });
  return { hasRole: false, helpers: admins.map((a) => a.email) };
}

/** What the person and the client are told when the person holds no role on the portal. */
export function noRoleMessage(portalName: string, helpers: readonly string[]): string {
  const ask = helpers.length ? `ask a Portico admin for access (${helpers.join(", ")})` : "ask a Portico admin for access";
  return `You hold no role on ${portalName}; ${ask}.`;
}

export type Approver = { userId: string; email: string; mfa: boolean; requestId?: string | null; ip?: string | null };

/**
 * Finishes the request as approved by `user`: one grant per person, client and portal (reused and
 * widened when they approve again), remembered as their consent, then the URL to send the browser to.
 */
export async function approveAuthorizationRequest(provider: Provider, db: Db, user: Approver, request: LoadedRequest, elevated?: { scope: string }): Promise<string> {
  const { interaction } = request;
  if (interaction.result || !request.resource || !request.view.portal) throw new Error("This sign-in request is no longer pending");
  const existing = await db.oAuthConsent.findUnique({ where: { userId_clientId_resource: { userId: user.userId, clientId: request.clientId, resource: request.resource } } });
  const previous = existing ? await provider.Grant.find(existing.grantId) : undefined;
  const grant = previous && previous.accountId === user.userId && previous.clientId === request.clientId ? previous : new provider.Grant({ accountId: user.userId, clientId: request.clientId });
  if (request.oidcScope) grant.addOIDCScope(request.oidcScope);
  // An elevated scope only after a manager's approval (oauth/step-up.ts); the token endpoint still
  // issues it only while the approved grant is active (provider.ts, getResourceServerInfo).
  grant.addResourceScope(request.resource, elevated ? `${MCP_SCOPE} ${elevated.scope}` : MCP_SCOPE);
  const grantId = await grant.save();
  const scope = [...new Set([...(existing?.scope.split(" ") ?? []), ...request.oidcScope.split(" ")].filter(Boolean))].join(" ");
  await db.$transaction(async (tx) => {
    await tx.oAuthConsent.upsert({
      where: { userId_clientId_resource: { userId: user.userId, clientId: request.clientId, resource: request.resource! } },
      create: { userId: user.userId, clientId: request.clientId, clientName: request.clientName, resource: request.resource!, scope, grantId },
      update: { clientName: request.clientName, scope, grantId },
    });
    if (!existing || existing.grantId !== grantId || existing.scope !== scope) {
      await appendAuditEvents(tx, [consentEvent(user, request, "consent.grant", "success")]);
    }
  });
  interaction.result = { login: { accountId: user.userId, amr: user.mfa ? ["mfa"] : [] }, consent: { grantId } };
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  return interaction.returnTo;
}

/**
 * Finishes the request as refused: the client gets `access_denied` at its redirect URI, with
 * `description` when the refusal is Portico's (no role on the portal) rather than the person's.
 */
export async function denyAuthorizationRequest(db: Db, user: Approver, request: LoadedRequest, description?: string): Promise<string> {
  const { interaction } = request;
  if (interaction.result) throw new Error("This sign-in request is no longer pending");
  // RFC 6749 §4.1.2.1: error_description is printable ASCII without `"` or `\`.
  const said = description?.replace(/[^\x20-\x21\x23-\x5b\x5d-\x7e]/g, "").slice(0, 500);
  interaction.result = { error: "access_denied", error_description: said || "the person declined to connect this client" };
  await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  await db.$transaction((tx) => appendAuditEvents(tx, [consentEvent(user, request, "consent.deny", "failure")]));
  return interaction.returnTo;
}

function consentEvent(user: Approver, request: LoadedRequest, action: string, outcome: "success" | "failure") {
  return {
    id: randomUUID(),
    time: new Date(),
    kind: "auth.consent",
    actorType: "user" as const,
    actorId: user.userId,
    actorLabel: user.email,
    action,
    outcome,
    targetType: "oauth_client",
    targetId: request.clientId.slice(0, 200),
    portal: request.view.portal?.slug ?? null,
    data: { clientName: request.clientName, redirectHost: request.view.redirectHost, scope: request.view.scopes.join(" ") },
    sourceIp: user.ip ?? null,
    requestId: user.requestId ?? null,
  };
}
