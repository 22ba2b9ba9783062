import "server-only";

import { alertScope, detectorParams, eventDetectors, rateDetectors, type Detector, type Match, type Severity } from "@/lib/alerts/rules";
import type { Db } from "../db/client";
import { describeError, log } from "../log";
import { raiseAlert } from "./engine";
import { resolveAlertAutomatically } from "./alerts";
import { listSigningKeyAges } from "../signing-keys";
import { formatUtcText } from "@/lib/format";

const DAY_MS = 86_400_000;

type StateRule = { id: string; detector: Detector; severity: Severity; params: Record<string, unknown>; name: string; throttleMinutes: number };

/**
 * What each state rule sees right now: one match per subject whose condition holds. A subject
 * that no longer appears resolves its open alert: the condition cleared.
 */
async function currentMatches(db: Db, rule: StateRule, now: Date): Promise<Match[]> {
  const p = rule.params;
  switch (rule.detector) {
    case "gateway_silent": {
      const since = new Date(now.getTime() - (p.minutes as number) * 60_000);
      const rows = await db.gateway.findMany({ where: { OR: [{ lastSeenAt: { lt: since } }, { lastSeenAt: null }] }, select: { name: true, lastSeenAt: true } });
      return rows.map((g) => ({ subject: `gateway:${g.name}`, title: `Gateway ${g.name} has not reported for more than ${p.minutes as number} min`, auditFilter: {} }));
    }
    case "gateway_behind": {
      const latest = await db.configVersion.findFirst({ orderBy: { version: "desc" }, select: { version: true, createdAt: true } });
      if (!latest || now.getTime() - latest.createdAt.getTime() < (p.minutes as number) * 60_000) return [];
      // A silent gateway is the other rule's business: only one that reports and lags is behind.
      const rows = await db.gateway.findMany({ where: { lastSeenAt: { gte: new Date(now.getTime() - 60_000) }, OR: [{ runningVersion: { lt: latest.version } }, { runningVersion: null }] }, select: { name: true, runningVersion: true } });
      return rows.map((g) => ({ subject: `gateway:${g.name}`, title: `Gateway ${g.name} runs config ${g.runningVersion ?? "none"}, latest is ${latest.version}`, auditFilter: { kind: "config.change" } }));
    }
    case "dead_letters": {
      const rows = await db.gateway.findMany({ where: { deadLetterCount: { gt: 0 } }, select: { name: true, deadLetterCount: true, deadLetterReason: true } });
      return rows.map((g) => ({
        subject: `gateway:${g.name}`,
        title: `Gateway ${g.name} holds ${g.deadLetterCount} dead-lettered audit event${g.deadLetterCount === 1 ? "" : "s"}`,
        auditFilter: {},
        detail: { count: g.deadLetterCount, reason: g.deadLetterReason },
      }));
    }
    // Links name the server's calls and the credential's own events by the explorer's structured
    // filters: the free-text `q` searches neither servers' calls nor actors.
    case "upstream_failing": {
      const rows = await db.server.findMany({ where: { status: "error" }, select: { slug: true, name: true, statusDetail: true } });
      return rows.map((s) => ({ subject: `server:${s.slug}`, title: `Upstream server ${s.name} is failing`, auditFilter: { kind: "mcp.request", server: s.slug }, detail: { status: s.statusDetail } }));
    }
    case "credentials_expiring": {
      const until = new Date(now.getTime() + (p.days as number) * DAY_MS);
      const [accounts, tokens] = await Promise.all([
        db.serviceAccount.findMany({ where: { disabledAt: null, expiresAt: { lte: until } }, select: { clientId: true, name: true, expiresAt: true } }),
        db.apiToken.findMany({ where: { revokedAt: null, expiresAt: { lte: until, gt: now } }, select: { id: true, name: true, prefix: true, expiresAt: true, user: { select: { email: true } } } }),
      ]);
      const when = (d: Date) => (d <= now ? "has expired" : `expires ${formatUtcText(d)}`);
      return [
        ...accounts.map((a) => ({ subject: `service-account:${a.clientId}`, title: `Service account ${a.name} ${when(a.expiresAt)}`, auditFilter: { actor: a.clientId } })),
        ...tokens.map((t) => ({ subject: `api-token:${t.id}`, title: `API token ${t.name} (${t.prefix}…) of ${t.user.email} ${when(t.expiresAt)}`, auditFilter: { actor: t.id } })),
      ];
    }
    case "stepup_waiting": {
      // Whatever step-up events exist, matched by name: a request is waiting until any later
      // step-up event names the same target (approved, denied, cancelled, expired…).
      const since = new Date(now.getTime() - 7 * DAY_MS);
      const olderThan = new Date(now.getTime() - (p.minutes as number) * 60_000);
      const rows = await db.$queryRaw<Array<{ targetId: string; actorLabel: string | null; time: Date }>>`
        SELECT r."targetId", r."actorLabel", r."time" FROM "AuditEvent" r
        WHERE r."time" >= ${since} AND r."time" <= ${olderThan} AND r."targetId" IS NOT NULL
          AND (r."kind" IN ('stepup.requested', 'stepup.request') OR (r."kind" LIKE 'stepup%' AND r."action" IN ('stepup.requested', 'stepup.request')))
          AND NOT EXISTS (
            SELECT 1 FROM "AuditEvent" d WHERE d."targetId" = r."targetId" AND d."seq" > r."seq" AND d."kind" LIKE 'stepup%'
              AND d."kind" NOT IN ('stepup.requested', 'stepup.request') AND d."action" NOT IN ('stepup.requested', 'stepup.request'))
        LIMIT 500`;
      return rows.map((r) => ({ subject: `stepup:${r.targetId}`, title: `Step-up request by ${r.actorLabel ?? "someone"} waiting since ${formatUtcText(new Date(r.time))}`, auditFilter: { q: r.targetId } }));
    }
    case "credential_age": {
      const before = new Date(now.getTime() - (p.days as number) * DAY_MS);
      const rows = await db.server.findMany({ where: { credentialKind: { in: ["header", "reference"] }, credentialSetAt: { lt: before } }, select: { slug: true, name: true, credentialSetAt: true } });
      return rows.map((s) => ({
        subject: `server-credential:${s.slug}`,
        title: `The credential of upstream server ${s.name} was set ${Math.floor((now.getTime() - s.credentialSetAt.getTime()) / DAY_MS)} days ago`,
        auditFilter: { kind: "config.change", q: s.slug },
        detail: { setAt: s.credentialSetAt.toISOString() },
      }));
    }
    case "signing_key_age": {
      // The newest key signs; older ones stay published only so old snapshots verify.
      const active = (await listSigningKeyAges(db)).at(-1);
      if (!active || now.getTime() - active.createdAt.getTime() <= (p.days as number) * DAY_MS) return [];
      return [
        {
          subject: `signing-key:${active.kid}`,
          title: `The config signing key ${active.kid.slice(0, 12)}… has signed for ${Math.floor((now.getTime() - active.createdAt.getTime()) / DAY_MS)} days: rotate it`,
          auditFilter: { q: "config.signing_key" },
          detail: { kid: active.kid, createdAt: active.createdAt.toISOString() },
        },
      ];
    }
    default:
      return [];
  }
}

/**
 * The scheduled half of alerting: state rules (gateways, upstreams, credentials, step-up queue)
 * are raised while their condition holds and resolved when it clears; rate rules resolve after a
 * window with no new occurrence.
 */
export async function runAlertChecks(db: Db, now = new Date()): Promise<void> {
  const rows = await db.alertRule.findMany({ where: { enabled: true } });
  for (const row of rows) {
    const detector = row.detector as Detector;
    const params = detectorParams[detector]?.safeParse(row.params);
    if (!params?.success || !alertScope.safeParse(row.scope).success) continue;
    const rule: StateRule = { id: row.id, detector, severity: row.severity as Severity, params: params.data as Record<string, unknown>, name: row.name, throttleMinutes: row.throttleMinutes };
    try {
      if (rateDetectors.has(detector)) {
        const quiet = new Date(now.getTime() - (rule.params.windowMinutes as number) * 60_000);
        const stale = await db.alert.findMany({ where: { ruleId: rule.id, openKey: { not: null }, lastSeenAt: { lt: quiet } }, select: { id: true } });
        for (const a of stale) await resolveAlertAutomatically(db, a.id, "no new occurrence for a whole window");
        continue;
      }
      if (eventDetectors.has(detector)) continue;
      const matches = await currentMatches(db, rule, now);
      const subjects = new Set(matches.map((m) => m.subject));
      for (const match of matches) await raiseAlert(db, { rule: { ...rule, scope: {} }, match, time: now, eventIds: [], increment: 1 }, { isStateCheck: true });
      const open = await db.alert.findMany({ where: { ruleId: rule.id, openKey: { not: null } }, select: { id: true, subject: true } });
      for (const a of open) if (!subjects.has(a.subject)) await resolveAlertAutomatically(db, a.id, "the condition cleared");
    } catch (error) {
      log("error", "alert check failed", { rule: row.key, ...describeError(error) });
    }
  }
}

/** Runs the checks every `intervalMs` (and once now). */
export function startAlertChecks(db: Db, intervalMs = 30_000): () => void {
  let isRunning = false;
  const tick = () => {
    if (isRunning) return;
    isRunning = true;
    runAlertChecks(db)
      .catch((error: unknown) => log("error", "alert checks failed", describeError(error)))
      .finally(() => {
        isRunning = false;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
