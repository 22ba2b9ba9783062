/**
 * Dashboard roles and what each may do. Pure, so the UI (to hide controls) and the data-access
 * layer (to refuse) read the same table.
 */
export const dashboardRoles = ["admin", "approver", "auditor", "viewer"] as const;
export type DashboardRole = (typeof dashboardRoles)[number];

export const permissions = {
  "registry:read": ["admin", "approver", "auditor", "viewer"],
  "registry:write": ["admin"],
  "users:read": ["admin", "auditor"],
  "users:write": ["admin"],
  /** The audit explorer; what each role sees in it is narrowed by the two below (lib/server/audit-query.ts). */
  "audit:read": ["admin", "approver", "auditor", "viewer"],
  /** Everyone's events; without it, only the reader's own (and, with the next, their portals'). */
  "audit:all:read": ["admin", "auditor"],
  /** The metadata of events on the portals one approves step-up requests for (lib/server/audit-query.ts). */
  "audit:portals:read": ["approver"],
  /** MCP arguments and results (after DLP redaction); without it, metadata only. */
  "audit:payloads:read": ["admin", "auditor"],
  /** Run a chain verification (it records its outcome as an audit event). */
  "audit:verify": ["admin", "auditor"],
  /** Traffic charts and cost attribution across every portal and caller (the overview's charts). */
  "dashboards:read": ["admin", "auditor"],
  "settings:read": ["admin", "auditor"],
  "settings:write": ["admin"],
  "tokens:all": ["admin"],
  /** Everyone's connected MCP clients, and the authorization server's registered clients. */
  "clients:all": ["admin"],
  /** Config version history and diffs, export, the policy explainer and what-if. */
  "config:read": ["admin", "auditor"],
  /** The alert inbox, its rules and channels, read; acknowledge, resolve and snooze alerts. */
  "alerts:read": ["admin", "approver", "auditor"],
  "alerts:ack": ["admin", "approver", "auditor"],
  /** Edit alert rules and delivery channels. */
  "alerts:write": ["admin"],
  /** The step-up queue and who holds elevated access (auditors read it too). */
  "approvals:read": ["admin", "approver", "auditor"],
  /** Approve or deny step-up requests, revoke grants; narrowed per portal role by its approvers. */
  "approvals:decide": ["admin", "approver"],
} as const satisfies Record<string, readonly DashboardRole[]>;

export type Permission = keyof typeof permissions;

export function roleCan(role: DashboardRole, permission: Permission): boolean {
  return (permissions[permission] as readonly DashboardRole[]).includes(role);
}

/** API token scopes: "read" reaches `*:read` permissions, "write" everything else. */
export const tokenScopes = ["read", "write"] as const;
export type TokenScope = (typeof tokenScopes)[number];

export function scopeFor(permission: Permission): TokenScope {
  return permission.endsWith(":read") ? "read" : "write";
}

export const roleLabels: Record<DashboardRole, string> = {
  admin: "Admin",
  approver: "Approver",
  auditor: "Auditor",
  viewer: "Viewer",
};
