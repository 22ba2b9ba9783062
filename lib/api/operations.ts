import { z } from "zod";
import { createServerInput, listServersParams, updateServerInput } from "@/lib/schemas/server";
import { listToolsParams, updateToolInput } from "@/lib/schemas/tool";
import { createPortalInput, setPortalServersInput, updatePortalInput, updatePortalToolInput, updatePortalCatalogInput } from "@/lib/schemas/portal";
import { createRoleInput, listRolesParams, updateRoleInput } from "@/lib/schemas/role";
import {
  createServiceAccountInput,
  listServiceAccountsParams,
  rotateServiceAccountInput,
  updateServiceAccountInput,
} from "@/lib/schemas/service-account";
import { createUserInput, listUsersParams, updateUserInput } from "@/lib/schemas/user";
import { createTokenInput, listTokensParams } from "@/lib/schemas/token";
import { updateSettingsInput } from "@/lib/schemas/settings";
import { createOAuthClientInput, listConnectedClientsParams } from "@/lib/schemas/oauth-client";
import { auditFilterParams, exportAuditParams, listAuditParams } from "@/lib/schemas/audit";
import { createLogDestinationInput, updateLogDestinationInput } from "@/lib/schemas/log-destination";
import { listVerificationsParams } from "@/lib/schemas/audit-verification";
import { listParams } from "@/lib/schemas/common";
import { acknowledgeAlertInput, createAlertChannelInput, listAlertsParams, resolveAlertInput, snoozeAlertInput, updateAlertChannelInput } from "@/lib/schemas/alert";
import { createAlertRuleInput, updateAlertRuleInput } from "@/lib/alerts/rules";
import { dashboardQuery } from "@/lib/schemas/dashboard";
import { testDlpInput, updateDlpInput } from "@/lib/dlp/settings-input";
import type { Permission, TokenScope } from "@/lib/auth/permissions";
import {
  auditEventDetailView,
  auditEventView,
  connectedClientView,
  createdTokenView,
  pageOf,
  portalToolView,
  portalView,
  roleView,
  serverView,
  serviceAccountView,
  serviceAccountWithSecretView,
  tokenView,
  toolView,
  userView,
} from "@/lib/schemas/view-schemas";
import { configDocument } from "@/lib/config/document";
import { exportParams, importParamsSchema } from "@/lib/schemas/config-changes";
import { explainInput, simulateInput } from "@/lib/schemas/policy";
import {
  approveStepUpRequestInput,
  createStepUpRequestInput,
  denyStepUpRequestInput,
  listElevatedGrantsParams,
  listStepUpRequestsParams,
} from "@/lib/schemas/step-up";

export type Operation = {
  method: "get" | "post" | "patch" | "put" | "delete";
  path: string;
  summary: string;
  tag: string;
  /** null: any authenticated caller (what they see is limited to their own records). */
  permission: Permission | null;
  /** The API token scope an operation open to any caller still needs (with a permission, its scope). */
  scope?: TokenScope;
  query?: z.ZodObject;
  body?: z.ZodType;
  /** The success answer's body (lib/schemas/view-schemas.ts); without one, the document says only "a JSON object". */
  response?: z.ZodType;
  status?: number;
};

/**
 * Every /api/v1 operation. The OpenAPI document is generated from this list and the same zod
 * schemas the handlers parse with, so the two cannot drift apart.
 */
export const operations: Operation[] = [
  { method: "get", path: "/servers", summary: "List upstream MCP servers", tag: "Servers", permission: "registry:read", response: pageOf(serverView), query: listServersParams },
  { method: "post", path: "/servers", summary: "Register an upstream MCP server", tag: "Servers", permission: "registry:write", response: serverView, body: createServerInput, status: 201 },
  { method: "get", path: "/servers/{id}", summary: "Get a server with its prompts and resources", tag: "Servers", permission: "registry:read" },
  { method: "patch", path: "/servers/{id}", summary: "Update a server (omit credential to keep it)", tag: "Servers", permission: "registry:write", response: serverView, body: updateServerInput },
  { method: "delete", path: "/servers/{id}", summary: "Delete a server and its tools", tag: "Servers", permission: "registry:write", status: 204 },
  { method: "post", path: "/servers/{id}/sync", summary: "Connect to the server and read its tools, prompts and resources", tag: "Servers", permission: "registry:write" },
  { method: "get", path: "/tools", summary: "List discovered tools", tag: "Tools", permission: "registry:read", response: pageOf(toolView), query: listToolsParams },
  { method: "get", path: "/tools/{id}", summary: "Get a tool with its pinned and pending definitions", tag: "Tools", permission: "registry:read", response: toolView },
  { method: "patch", path: "/tools/{id}", summary: "Set a tool's risk class", tag: "Tools", permission: "registry:write", response: toolView, body: updateToolInput },
  { method: "post", path: "/tools/{id}/accept", summary: "Accept a changed tool definition", tag: "Tools", permission: "registry:write", response: toolView },
  { method: "get", path: "/portals", summary: "List portals", tag: "Portals", permission: "registry:read", response: pageOf(portalView), query: listParams },
  { method: "post", path: "/portals", summary: "Create a portal", tag: "Portals", permission: "registry:write", response: portalView, body: createPortalInput, status: 201 },
  { method: "get", path: "/portals/{id}", summary: "Get a portal", tag: "Portals", permission: "registry:read", response: portalView },
  { method: "patch", path: "/portals/{id}", summary: "Update a portal", tag: "Portals", permission: "registry:write", response: portalView, body: updatePortalInput },
  { method: "delete", path: "/portals/{id}", summary: "Delete a portal", tag: "Portals", permission: "registry:write", status: 204 },
  { method: "put", path: "/portals/{id}/servers", summary: "Set the portal's servers and their toggles", tag: "Portals", permission: "registry:write", response: portalView, body: setPortalServersInput },
  { method: "get", path: "/portals/{id}/tools", summary: "List the portal's tools with toggles, aliases and overrides", tag: "Portals", permission: "registry:read", response: z.object({ items: z.array(portalToolView) }) },
  { method: "patch", path: "/portals/{id}/tools/{toolId}", summary: "Toggle, alias or describe a tool in a portal", tag: "Portals", permission: "registry:write", response: portalToolView, body: updatePortalToolInput },
  { method: "get", path: "/portals/{id}/catalog", summary: "List the portal's prompts and resources with toggles, aliases and overrides", tag: "Portals", permission: "registry:read" },
  { method: "patch", path: "/portals/{id}/catalog", summary: "Toggle, alias or describe a prompt or resource in a portal", tag: "Portals", permission: "registry:write", body: updatePortalCatalogInput },
  { method: "get", path: "/roles", summary: "List portal roles", tag: "Roles", permission: "registry:read", response: pageOf(roleView), query: listRolesParams },
  { method: "post", path: "/roles", summary: "Create a portal role", tag: "Roles", permission: "registry:write", response: roleView, body: createRoleInput, status: 201 },
  { method: "get", path: "/roles/{id}", summary: "Get a portal role", tag: "Roles", permission: "registry:read", response: roleView },
  { method: "patch", path: "/roles/{id}", summary: "Update a portal role (lists given replace the current ones)", tag: "Roles", permission: "registry:write", response: roleView, body: updateRoleInput },
  { method: "delete", path: "/roles/{id}", summary: "Delete a portal role", tag: "Roles", permission: "registry:write", status: 204 },
  { method: "get", path: "/service-accounts", summary: "List service accounts (never their secrets)", tag: "Service accounts", permission: "registry:read", response: pageOf(serviceAccountView), query: listServiceAccountsParams },
  {
    method: "post",
    path: "/service-accounts",
    summary: "Create a service account; its client secret is in this response only",
    tag: "Service accounts",
    permission: "registry:write",
    response: serviceAccountWithSecretView,
    body: createServiceAccountInput,
    status: 201,
  },
  { method: "get", path: "/service-accounts/{id}", summary: "Get a service account", tag: "Service accounts", permission: "registry:read", response: serviceAccountView },
  {
    method: "patch",
    path: "/service-accounts/{id}",
    summary: "Rename a service account, change its portal role, disable or enable it",
    tag: "Service accounts",
    permission: "registry:write",
    response: serviceAccountView,
    body: updateServiceAccountInput,
  },
  { method: "delete", path: "/service-accounts/{id}", summary: "Delete a service account", tag: "Service accounts", permission: "registry:write", status: 204 },
  {
    method: "post",
    path: "/service-accounts/{id}/rotate",
    summary: "Issue a new client secret (in this response only) and renew the expiry; the old secret works for graceHours",
    tag: "Service accounts",
    permission: "registry:write",
    response: serviceAccountWithSecretView,
    body: rotateServiceAccountInput,
  },
  { method: "get", path: "/users", summary: "List dashboard users", tag: "Users", permission: "users:read", response: pageOf(userView), query: listUsersParams },
  { method: "post", path: "/users", summary: "Create a local user", tag: "Users", permission: "users:write", response: userView, body: createUserInput, status: 201 },
  { method: "get", path: "/users/{id}", summary: "Get a user", tag: "Users", permission: "users:read", response: userView },
  { method: "patch", path: "/users/{id}", summary: "Change a user's role, name, password, lock-out or MFA", tag: "Users", permission: "users:write", response: userView, body: updateUserInput },
  { method: "delete", path: "/users/{id}", summary: "Remove a user: their API tokens, client approvals and MCP access end at once; their audit trail stays", tag: "Users", permission: "users:write", status: 204 },
  { method: "get", path: "/tokens", summary: "List your API tokens (all=true: everyone's, admins only)", tag: "API tokens", permission: null, response: pageOf(tokenView), query: listTokensParams },
  { method: "post", path: "/tokens", summary: "Create an API token; the token is in this response only", tag: "API tokens", permission: null, response: createdTokenView, scope: "write", body: createTokenInput, status: 201 },
  { method: "delete", path: "/tokens/{id}", summary: "Revoke an API token", tag: "API tokens", permission: null, scope: "write", status: 204 },
  { method: "get", path: "/connected-clients", summary: "List the MCP clients you connected (all=true: everyone's, admins only)", tag: "Connected clients", permission: null, response: pageOf(connectedClientView), query: listConnectedClientsParams },
  { method: "delete", path: "/connected-clients/{id}", summary: "Disconnect an MCP client: its refresh tokens stop working", tag: "Connected clients", permission: null, scope: "write", status: 204 },
  { method: "get", path: "/oauth-clients", summary: "List OAuth clients registered by admins or by themselves (DCR)", tag: "OAuth clients", permission: "clients:all" },
  { method: "post", path: "/oauth-clients", summary: "Pre-register a public OAuth client (PKCE) for an MCP client", tag: "OAuth clients", permission: "clients:all", body: createOAuthClientInput, status: 201 },
  { method: "delete", path: "/oauth-clients/{id}", summary: "Delete an OAuth client and everyone's connections to it", tag: "OAuth clients", permission: "clients:all", status: 204 },
  { method: "get", path: "/settings", summary: "Read settings", tag: "Settings", permission: "settings:read" },
  { method: "patch", path: "/settings", summary: "Change settings", tag: "Settings", permission: "settings:write", body: updateSettingsInput },
  {
    method: "post",
    path: "/gateways/{id}/replay-dead-letters",
    summary: "Re-queue the audit events a gateway set aside because the control plane refused them (after fixing the cause)",
    tag: "Gateways",
    permission: "settings:write",
  },
  { method: "get", path: "/settings/dlp", summary: "DLP settings: admin patterns (RE2), each portal's action per detector and payload capture", tag: "Settings", permission: "settings:read" },
  { method: "put", path: "/settings/dlp", summary: "Change DLP patterns and portal actions (published to gateways with the next config version)", tag: "Settings", permission: "settings:write", body: updateDlpInput },
  { method: "post", path: "/settings/dlp/test", summary: "Run the DLP detectors and patterns on sample text (changes nothing)", tag: "Settings", permission: "settings:read", body: testDlpInput },
  { method: "post", path: "/settings/oauth-keys/rotate", summary: "Rotate the authorization server's signing keys (old keys stay published until their tokens expire)", tag: "Settings", permission: "settings:write" },
  { method: "get", path: "/config-versions", summary: "List config versions, newest first, with the gateways running each", tag: "Config", permission: "config:read", query: listParams.pick({ cursor: true, limit: true }) },
  { method: "get", path: "/config-versions/{id}", summary: "Get a config version (by number) with its snapshot and signature check", tag: "Config", permission: "config:read" },
  { method: "get", path: "/config-versions/{id}/diff", summary: "What changed from another version (against=, default the previous) to this one, by entity", tag: "Config", permission: "config:read", query: z.object({ against: z.coerce.number().int().positive().optional() }) },
  { method: "get", path: "/config-versions/{id}/rollback", summary: "Preview a rollback: what would change and what cannot be restored", tag: "Config", permission: "registry:write" },
  { method: "post", path: "/config-versions/{id}/rollback", summary: "Restore servers, portals and roles as at this version, as a new version pushed to gateways", tag: "Config", permission: "registry:write" },
  { method: "get", path: "/config/export", summary: "Export the configuration (servers without secrets, portals, roles) as JSON or YAML", tag: "Config", permission: "config:read", query: exportParams },
  { method: "post", path: "/config/import", summary: "Import a configuration document (JSON or YAML); dryRun=true shows the diff only", tag: "Config", permission: "registry:write", query: importParamsSchema, body: configDocument },
  { method: "post", path: "/policy/explain", summary: "Can this principal call this tool, and why: the gateway's evaluator on the live (or a given) version, role by role, condition by condition", tag: "Policy", permission: "config:read", body: explainInput },
  { method: "post", path: "/policy/simulate", summary: "What-if: replay the last days of audited calls against a draft role or an older version; who would lose or gain what", tag: "Policy", permission: "config:read", body: simulateInput },
  { method: "get", path: "/alerts", summary: "List alerts, most recently seen first (filter by status and severity)", tag: "Alerts", permission: "alerts:read", query: listAlertsParams },
  { method: "get", path: "/alerts/{id}", summary: "Get an alert with the events behind it and its delivery log", tag: "Alerts", permission: "alerts:read" },
  { method: "post", path: "/alerts/{id}/snooze", summary: "Snooze an alert's notifications and badge for a while", tag: "Alerts", permission: "alerts:ack", body: snoozeAlertInput },
  { method: "post", path: "/alerts/{id}/acknowledge", summary: "Acknowledge an open alert, with an optional note", tag: "Alerts", permission: "alerts:ack", body: acknowledgeAlertInput },
  { method: "post", path: "/alerts/{id}/resolve", summary: "Resolve an alert", tag: "Alerts", permission: "alerts:ack", body: resolveAlertInput },
  { method: "get", path: "/alert-rules", summary: "List alert rules with their thresholds and open alerts", tag: "Alerts", permission: "alerts:read" },
  { method: "post", path: "/alert-rules", summary: "Create a rule of a kind the engine knows, with its parameters and scope (portal, server, tool, role, actor)", tag: "Alerts", permission: "alerts:write", body: createAlertRuleInput, status: 201 },
  { method: "patch", path: "/alert-rules/{id}", summary: "Toggle an alert rule or change its thresholds, scope, severity or throttle", tag: "Alerts", permission: "alerts:write", body: updateAlertRuleInput },
  { method: "delete", path: "/alert-rules/{id}", summary: "Delete a custom rule (built-in ones are turned off instead; a rule with open alerts is refused)", tag: "Alerts", permission: "alerts:write", status: 204 },
  { method: "get", path: "/alert-channels", summary: "List alert delivery channels (never their secrets)", tag: "Alerts", permission: "alerts:read" },
  { method: "post", path: "/alert-channels", summary: "Add a webhook, Slack-compatible or SMTP e-mail channel", tag: "Alerts", permission: "alerts:write", body: createAlertChannelInput, status: 201 },
  { method: "patch", path: "/alert-channels/{id}", summary: "Rename, toggle or change the minimum severity of a channel", tag: "Alerts", permission: "alerts:write", body: updateAlertChannelInput },
  { method: "delete", path: "/alert-channels/{id}", summary: "Delete a channel", tag: "Alerts", permission: "alerts:write", status: 204 },
  { method: "post", path: "/alert-channels/{id}/test", summary: "Send a test alert on a channel now", tag: "Alerts", permission: "alerts:write" },
  { method: "get", path: "/dashboards/traffic", summary: "Overview charts: calls per decision over time, top tools and callers, denials, upstream latency and errors, alerts", tag: "Dashboards", permission: "dashboards:read", query: dashboardQuery },
  { method: "get", path: "/dashboards/cost-attribution", summary: "Calls, bytes and upstream time per team (IdP group) and tool; format=csv to download", tag: "Dashboards", permission: "dashboards:read", query: dashboardQuery },
  {
    method: "get",
    path: "/audit-events",
    summary: "List audit events (keyset by seq, newest or oldest first); viewers get their own, approvers no payloads",
    tag: "Audit",
    permission: "audit:read",
    response: pageOf(auditEventView),
    query: listAuditParams,
  },
  { method: "get", path: "/audit-events/facets", summary: "Counts of kinds, outcomes, portals and tools under the filters", tag: "Audit", permission: "audit:read", query: auditFilterParams },
  {
    method: "get",
    path: "/audit-events/export",
    summary: "Export the filtered events as CSV or JSON Lines (streamed; JSON Lines carries the signed checkpoints it spans)",
    tag: "Audit",
    permission: "audit:read",
    query: exportAuditParams,
  },
  {
    method: "post",
    path: "/audit-events/verify",
    summary: "Verify the hash chain and signed checkpoints; streams progress lines, then the result (verified up to seq N, or the first broken seq)",
    tag: "Audit",
    permission: "audit:verify",
  },
  { method: "get", path: "/audit-events/{id}", summary: "One audit event and the config version in force when it happened", tag: "Audit", permission: "audit:read", response: auditEventDetailView },
  { method: "get", path: "/audit-verifications", summary: "Chain verification jobs, newest first, with their progress and results", tag: "Audit", permission: "audit:verify", query: listVerificationsParams },
  { method: "post", path: "/audit-verifications", summary: "Start a chain verification job (or get the one running); poll it for progress and result", tag: "Audit", permission: "audit:verify", status: 202 },
  { method: "get", path: "/audit-verifications/{id}", summary: "One verification job: progress, then verified up to seq N or the first broken seq", tag: "Audit", permission: "audit:verify" },
  { method: "post", path: "/audit-verifications/{id}/cancel", summary: "Cancel a running verification job (it stops at its next chunk)", tag: "Audit", permission: "audit:verify" },
  { method: "get", path: "/audit-retention", summary: "Retention per data class: days, space used, what is due, the last purge, and events kept until a SIEM destination has them", tag: "Audit", permission: "settings:read" },
  { method: "post", path: "/audit-retention/purge", summary: "Run the retention purge now (up to 100,000 rows); it records what it purged as an audit event", tag: "Audit", permission: "settings:write" },
  { method: "get", path: "/log-destinations", summary: "SIEM destinations with their status: last delivered seq, lag, last error (never their secrets)", tag: "Audit", permission: "settings:read" },
  { method: "post", path: "/log-destinations", summary: "Stream the audit log to an HTTPS endpoint (JSON Lines, HMAC-signed) or a Splunk HEC", tag: "Audit", permission: "settings:write", body: createLogDestinationInput, status: 201 },
  { method: "patch", path: "/log-destinations/{id}", summary: "Rename, pause, move or re-key a SIEM destination", tag: "Audit", permission: "settings:write", body: updateLogDestinationInput },
  { method: "delete", path: "/log-destinations/{id}", summary: "Delete a SIEM destination", tag: "Audit", permission: "settings:write", status: 204 },
  { method: "get", path: "/me", summary: "Who you are and what you may do", tag: "Account", permission: null },
  { method: "get", path: "/me/attention", summary: "What waits for you: counts behind the sidebar's badges", tag: "Account", permission: null },
  {
    method: "get",
    path: "/step-up-requests",
    summary: "List step-up requests (approvers, admins, auditors: all, or their own with mine=1; anyone else: their own; a service account with its client-credentials token: its own on that portal)",
    tag: "Step-up",
    permission: null,
    query: listStepUpRequestsParams,
  },
  { method: "post", path: "/step-up-requests", summary: "Ask for elevated access on a portal (a risk class for a window, or one call); a service account files with its client-credentials token", tag: "Step-up", permission: null, body: createStepUpRequestInput, status: 201 },
  { method: "get", path: "/step-up-requests/{id}", summary: "Get a step-up request with the requester's recent activity (a service account, with its client-credentials token: its own)", tag: "Step-up", permission: null },
  { method: "post", path: "/step-up-requests/{id}/approve", summary: "Approve a request (never your own); may shorten the window", tag: "Step-up", permission: "approvals:decide", body: approveStepUpRequestInput },
  { method: "post", path: "/step-up-requests/{id}/deny", summary: "Deny a request with a note to the requester", tag: "Step-up", permission: "approvals:decide", body: denyStepUpRequestInput },
  { method: "post", path: "/step-up-requests/{id}/withdraw", summary: "Withdraw your own pending request (a service account: with its client-credentials token)", tag: "Step-up", permission: null },
  {
    method: "get",
    path: "/elevated-grants",
    summary: "List elevated grants: who holds what, where, until when (approvers, admins, auditors: all; anyone with mine=1: their own)",
    tag: "Step-up",
    permission: null,
    query: listElevatedGrantsParams,
  },
  { method: "get", path: "/elevated-grants/{id}", summary: "Get an elevated grant", tag: "Step-up", permission: "approvals:read" },
  { method: "post", path: "/elevated-grants/{id}/revoke", summary: "Revoke an elevated grant: gateways refuse it within a second", tag: "Step-up", permission: "approvals:decide" },
];

const byMethod = new Map<string, Array<{ pattern: RegExp; op: Operation }>>();
for (const op of operations) {
  const pattern = new RegExp(`^/api/v1${op.path.replace(/\{\w+\}/g, "[^/]+")}$`);
  const list = byMethod.get(op.method) ?? [];
  list.push({ pattern, op });
  byMethod.set(op.method, list);
}
// A literal segment wins over a parameter (/audit-events/facets is not the event "facets").
for (const list of byMethod.values()) list.sort((a, b) => a.op.path.split("{").length - b.op.path.split("{").length);

/** The operation a request is for, as the router would pick its route; null for one not listed. */
export function findOperation(method: string, pathname: string): Operation | null {
  return byMethod.get(method.toLowerCase())?.find(({ pattern }) => pattern.test(pathname))?.op ?? null;
}
