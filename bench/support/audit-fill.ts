/**
 * Fills an AuditEvent table with realistic synthetic events, fast: one INSERT … SELECT over
 * generate_series per chunk, generated inside the database (no rows cross the wire), with the
 * table's secondary indexes dropped during the fill and rebuilt from their own definitions after
 * (so the indexes measured are exactly the migrations' ones).
 *
 * The rows are NOT a valid hash chain: prevHash and hash are 64 hex characters of md5 output.
 * That is fine for read benchmarks (the explorer, exports); never run the verifier on them.
 *
 * Shape (per event): 90 % mcp.request, the rest server requests, sign-ins, tokens, step-up and
 * config changes; 5,000 users (skewed: a few are busy) and 200 service accounts; 20 servers × 6
 * tools over 6 portals (skewed); 8 % of calls denied with one of 5 reasons; sessions of ~40 calls;
 * 1 % under a step-up grant, 0.5 % with a DLP match; times evenly spread over `days` days ending
 * at `end`, in seq order with a few seconds of jitter (gateways deliver slightly out of order).
 */
import type { Db } from "@/lib/server/db/client";

export const SERVERS = [
  "cost-explorer", "budgets", "tagging", "github", "jira", "confluence", "slack", "pagerduty", "datadog", "snowflake",
  "postgres-ro", "s3", "k8s", "terraform", "vault", "salesforce", "zendesk", "gdrive", "linear", "sentry",
];
const VERBS = ["list", "get", "search", "create", "update", "delete"];
/** Tool names are unique across servers: `<server>_<verb>` with dashes as underscores. */
export const TOOLS = SERVERS.flatMap((s) => VERBS.map((v) => `${s.replace(/-/g, "_")}_${v}`));
export const PORTALS = ["finops", "platform", "data", "security", "support", "people"];
export const DENY_REASONS = [
  "role Analyst does not allow this tool",
  "outside time window business-hours",
  "step-up required for write tools",
  "source address not in allowed networks",
  "DLP block: card_number",
];

export type FillOptions = { events: number; days: number; end: Date; chunk?: number; onProgress?: (done: number) => void };

export async function fillAuditEvents(db: Db, options: FillOptions): Promise<void> {
  const { events, days, end } = options;
  const chunk = options.chunk ?? 500_000;
  const indexes = await db.$queryRawUnsafe<Array<{ indexname: string; indexdef: string }>>(
    `SELECT i.indexname, i.indexdef FROM pg_indexes i
     JOIN pg_class c ON c.relname = i.indexname
     JOIN pg_index x ON x.indexrelid = c.oid
     WHERE i.tablename = 'AuditEvent' AND NOT x.indisprimary AND NOT x.indisunique`,
  );
  for (const { indexname } of indexes) await db.$executeRawUnsafe(`DROP INDEX "${indexname}"`);
  const spanMs = days * 86_400_000;
  const start = new Date(end.getTime() - spanMs);
  const stepMs = spanMs / events;
  await db.$executeRawUnsafe(`SELECT setseed(0.42)`);
  for (let from = 1; from <= events; from += chunk) {
    const to = Math.min(events, from + chunk - 1);
    await db.$executeRawUnsafe(
      `INSERT INTO "AuditEvent" ("id", "time", "kind", "actorType", "actorId", "actorLabel", "action", "outcome",
         "targetType", "targetId", "portal", "server", "tool", "reasons", "data", "sourceIp", "requestId", "prevHash", "hash")
       SELECT md5('e' || g)::uuid::text,
         $3::timestamp + ((g - 1) * $4::float8 + (r_jit - 0.5) * 4000) * interval '1 millisecond',
         kind, actor_type, actor_id, actor_label,
         CASE kind WHEN 'mcp.request' THEN 'tools/call' WHEN 'mcp.server_request' THEN 'sampling/createMessage'
           WHEN 'auth.sign_in' THEN 'sign_in' WHEN 'auth.token' THEN 'token.issue' WHEN 'config.change' THEN 'role.update'
           ELSE kind END,
         outcome,
         CASE WHEN is_mcp THEN 'tool' WHEN kind = 'config.change' THEN 'role' ELSE NULL END,
         CASE WHEN is_mcp THEN srv || '/' || tl WHEN kind = 'config.change' THEN 'role-' || (g % 17) ELSE NULL END,
         CASE WHEN is_mcp OR kind LIKE 'stepup.%' THEN prt END,
         CASE WHEN is_mcp OR kind LIKE 'stepup.%' THEN srv END,
         CASE WHEN is_mcp OR kind LIKE 'stepup.%' THEN tl END,
         CASE WHEN outcome = 'deny' THEN jsonb_build_array(($7::text[])[1 + floor(r_reason * 5)::int]) END,
         CASE WHEN is_mcp THEN jsonb_build_object(
             'sessionId', 's-' || (g / 40),
             'gateway', 'gw-' || (1 + g % 3),
             'latencyMs', round((5 + r_lat * r_lat * 800)::numeric, 1),
             'requestBytes', 120 + floor(r_lat * 900)::int,
             'responseBytes', CASE WHEN outcome = 'deny' THEN 0 ELSE 300 + floor(r_lat * 6000)::int END,
             'upstreamOutcome', CASE WHEN outcome = 'deny' THEN 'not_called' WHEN r_up < 0.02 THEN 'error' WHEN r_up < 0.025 THEN 'timeout' ELSE 'success' END,
             'arguments', jsonb_build_object('query', 'cost of ' || srv || ' in 2026-' || lpad((1 + g % 12)::text, 2, '0'), 'limit', 50))
           || CASE WHEN r_grant < 0.01 THEN jsonb_build_object('grantId', 'grant-' || (g / 5000)) ELSE '{}'::jsonb END
           || CASE WHEN r_dlp < 0.005 THEN jsonb_build_object('dlp', jsonb_build_array(jsonb_build_object('detector', CASE WHEN r_dlp < 0.002 THEN 'card_number' WHEN r_dlp < 0.004 THEN 'email' ELSE 'aws_access_key' END, 'field', 'arguments', 'count', 1))) ELSE '{}'::jsonb END
           WHEN kind = 'config.change' THEN jsonb_build_object('before', jsonb_build_object('enabled', true), 'after', jsonb_build_object('enabled', false))
           ELSE jsonb_build_object('method', 'password') END,
         '10.' || (u % 250) || '.' || ((u / 250) % 250) || '.' || (1 + u % 7),
         CASE WHEN is_mcp THEN md5('r' || g) END,
         md5('p' || g) || md5('q' || g), md5('h' || g) || md5('i' || g)
       FROM (
         SELECT g, u, r_jit, r_reason, r_lat, r_up, r_grant, r_dlp, kind, kind IN ('mcp.request', 'mcp.server_request') AS is_mcp,
           CASE WHEN r_sa < 0.1 AND kind IN ('mcp.request', 'auth.token') THEN 'service_account' ELSE 'user' END AS actor_type,
           CASE WHEN r_sa < 0.1 AND kind IN ('mcp.request', 'auth.token') THEN 'sa_' || (u % 200) ELSE 'usr_' || u END AS actor_id,
           CASE WHEN r_sa < 0.1 AND kind IN ('mcp.request', 'auth.token') THEN 'ci-job-' || (u % 200) ELSE 'user' || u || '@example.com' END AS actor_label,
           CASE WHEN kind = 'mcp.request' THEN (CASE WHEN r_out < 0.08 THEN 'deny' ELSE 'allow' END)
             ELSE (CASE WHEN r_out < 0.05 THEN 'failure' ELSE 'success' END) END AS outcome,
           ($5::text[])[1 + s] AS srv, ($6::text[])[1 + s * 6 + t] AS tl, ($8::text[])[1 + (s + (CASE WHEN r_prt < 0.1 THEN 1 ELSE 0 END)) % 6] AS prt
         FROM (
           SELECT g, floor(5000 * r_u * r_u)::int AS u, floor(20 * r_s * r_s)::int AS s, floor(6 * r_t * sqrt(r_t))::int AS t,
             r_jit, r_reason, r_lat, r_up, r_grant, r_dlp, r_sa, r_out, r_prt,
             CASE WHEN r_k < 0.90 THEN 'mcp.request' WHEN r_k < 0.915 THEN 'mcp.server_request' WHEN r_k < 0.945 THEN 'auth.sign_in'
               WHEN r_k < 0.975 THEN 'auth.token' WHEN r_k < 0.985 THEN 'stepup.request' WHEN r_k < 0.993 THEN 'stepup.grant' ELSE 'config.change' END AS kind
           FROM (
             SELECT g, random() AS r_u, random() AS r_s, random() AS r_t, random() AS r_k, random() AS r_jit, random() AS r_reason,
               random() AS r_lat, random() AS r_up, random() AS r_grant, random() AS r_dlp, random() AS r_sa, random() AS r_out, random() AS r_prt
             FROM generate_series($1::int, $2::int) AS g
           ) a
         ) b
       ) c
       ORDER BY g`,
      from,
      to,
      start,
      stepMs,
      SERVERS,
      TOOLS,
      DENY_REASONS,
      PORTALS,
    );
    options.onProgress?.(to);
  }
  for (const { indexdef } of indexes) await db.$executeRawUnsafe(indexdef);
  await db.$executeRawUnsafe(`ANALYZE "AuditEvent"`);
}
