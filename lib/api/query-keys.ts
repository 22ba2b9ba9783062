/** One query-key factory per resource, so invalidation after a write hits every view of it. */
const keys = <R extends string>(resource: R) => ({
  all: [resource] as const,
  list: (params: Record<string, unknown> = {}) => [resource, "list", params] as const,
  detail: (id: string) => [resource, "detail", id] as const,
});

export const serverKeys = keys("servers");
export const toolKeys = keys("tools");
export const portalKeys = { ...keys("portals"), tools: (id: string) => ["portals", "tools", id] as const };
export const roleKeys = keys("roles");
export const userKeys = keys("users");
export const tokenKeys = keys("tokens");
export const connectedClientKeys = keys("connected-clients");
export const oauthClientKeys = keys("oauth-clients");
export const serviceAccountKeys = keys("service-accounts");
export const auditKeys = keys("audit");
export const settingsKeys = { all: ["settings"] as const };
export const stepUpRequestKeys = keys("step-up-requests");
export const elevatedGrantKeys = keys("elevated-grants");
export const attentionKeys = { all: ["attention"] as const };
export const configVersionKeys = {
  ...keys("config-versions"),
  diff: (version: number, against: number | null) => ["config-versions", "diff", version, against] as const,
  rollback: (version: number) => ["config-versions", "rollback", version] as const,
};
export const alertKeys = keys("alerts");
export const alertRuleKeys = keys("alert-rules");
export const alertChannelKeys = keys("alert-channels");
export const dashboardKeys = keys("dashboards");
