/**
 * The "Change" of a config version in words. A version published after an API write is summarised
 * as the request (`POST /api/v1/step-up-requests/<id>/approve by manager@example.com`), which is
 * exact but reads like a log line; this turns the writes Portico knows into a sentence ("Step-up
 * request approved by manager@example.com"). Anything else (a seed, a timer, a newer route) is
 * shown as it was stored. Pure: applied when showing, so versions already stored read well too.
 */

type Rule = { method: string; path: RegExp; words: string };

const ID = "[^/]+";
const rule = (method: string, path: string, words: string): Rule => ({ method, path: new RegExp(`^${path.replaceAll(":id", ID)}$`), words });

const RULES: Rule[] = [
  rule("POST", "step-up-requests/:id/approve", "Step-up request approved"),
  rule("POST", "step-up-requests/:id/deny", "Step-up request denied"),
  rule("POST", "step-up-requests/:id/withdraw", "Step-up request withdrawn"),
  rule("POST", "elevated-grants/:id/revoke", "Step-up grant revoked"),
  rule("POST", "servers", "Server added"),
  rule("PATCH", "servers/:id", "Server changed"),
  rule("DELETE", "servers/:id", "Server removed"),
  rule("POST", "servers/:id/sync", "Server's tools synced"),
  rule("PATCH", "tools/:id", "Tool changed"),
  rule("POST", "tools/:id/accept", "Changed tool accepted"),
  rule("POST", "portals", "Portal added"),
  rule("PATCH", "portals/:id", "Portal changed"),
  rule("DELETE", "portals/:id", "Portal removed"),
  rule("PATCH", "portals/:id/catalog", "Portal catalog changed"),
  rule("PUT", "portals/:id/servers", "Portal's servers changed"),
  rule("PATCH", "portals/:id/tools/:id", "Tool in a portal changed"),
  rule("POST", "roles", "Role added"),
  rule("PATCH", "roles/:id", "Role changed"),
  rule("DELETE", "roles/:id", "Role removed"),
  rule("POST", "service-accounts", "Service account added"),
  rule("PATCH", "service-accounts/:id", "Service account changed"),
  rule("DELETE", "service-accounts/:id", "Service account removed"),
  rule("POST", "service-accounts/:id/rotate", "Service account secret rotated"),
  rule("PATCH", "settings", "Settings changed"),
  rule("PUT", "settings/dlp", "DLP settings changed"),
  rule("POST", "settings/oauth-keys/rotate", "Token signing keys rotated"),
  rule("POST", "users", "User added"),
  rule("PATCH", "users/:id", "User changed"),
  rule("DELETE", "users/:id", "User removed"),
  rule("DELETE", "connected-clients/:id", "Connected client disconnected"),
  rule("POST", "oauth-clients", "OAuth client added"),
  rule("DELETE", "oauth-clients/:id", "OAuth client removed"),
];

const REQUEST = /^(POST|PUT|PATCH|DELETE) \/api\/v1\/(\S+?)\/? by (.+)$/;

export function describeVersionSummary(summary: string): string {
  const match = REQUEST.exec(summary);
  if (!match) return summary;
  const [, method, path, who] = match;
  const known = RULES.find((r) => r.method === method && r.path.test(path!));
  if (!known) return summary;
  return who === "system" ? `${known.words} by the system` : `${known.words} by ${who}`;
}
