import type { Db } from "@/lib/server/db/client";
import { systemActor } from "@/lib/server/auth/actor";
import { hashPassword } from "@/lib/server/auth/passwords";
import { createServer, updateServer } from "@/lib/server/servers";
import { createPortal } from "@/lib/server/portals";
import { createRole } from "@/lib/server/roles";
import { seedServiceAccount } from "@/lib/server/service-accounts";
import { syncServer } from "@/lib/server/sync";
import { DEMO_RISK_CLASSES } from "@/demo/servers";
import type { CreateRoleInput } from "@/lib/schemas/role";
import { DEMO_USERS } from "./demo-users";
import { seedDemoTraffic } from "./seed-alerts";
import { seedStepUp } from "./seed-step-up";
import { seedAuditDemo } from "./seed-audit";

export { DEMO_USERS };

export type DemoServer = { id: string; name: string; description: string; url: string };

const seedActor = systemActor("demo seed");

const everyDay = { days: [1, 2, 3, 4, 5, 6, 7], start: "07:00", end: "22:00", timeZone: "Europe/Paris" };

function roleTemplates(portalId: string): CreateRoleInput[] {
  return [
    {
      slug: "finops-analyst",
      name: "Analyst",
      description: "Cost analysis with read-only tools, with MFA, looking back at most a year; tagging and budget changes on a manager's approval.",
      // The IdP group, and the local demo analyst so that a local sign-in reaches the portal too.
      principals: [
        { kind: "group", value: "finops-analysts" },
        { kind: "user", value: "analyst@portico.local" },
      ],
      grants: [
        { portalId, serverSlug: "cost-explorer", toolName: null, riskClasses: ["read"] },
        // Tagging and budgets: read freely; their write and financial tools only on a manager's
        // approval (step-up needs a grant covering the tool, not the risk class).
        { portalId, serverSlug: "tagging", toolName: null, riskClasses: ["read"] },
        { portalId, serverSlug: "budgets", toolName: null, riskClasses: ["read"] },
      ],
      stepUpRiskClasses: ["write", "destructive", "financial"],
      // No hours: the demo automation holds this role and runs at night too.
      conditions: { timeWindows: [], networks: [], mfaRequired: true, maxLookbackDays: 365 },
    },
    {
      slug: "finops-manager",
      name: "Manager",
      description: "Analyst tools plus budgets and tagging, weekends included.",
      principals: [{ kind: "group", value: "finops-managers" }],
      grants: [
        { portalId, serverSlug: "cost-explorer", toolName: null, riskClasses: ["read"] },
        { portalId, serverSlug: "budgets", toolName: null, riskClasses: ["read", "financial"] },
        { portalId, serverSlug: "tagging", toolName: null, riskClasses: ["read", "write"] },
      ],
      stepUpRiskClasses: ["destructive", "financial"],
      conditions: { timeWindows: [everyDay], networks: [], mfaRequired: true, maxLookbackDays: null },
    },
    {
      slug: "finops-director",
      name: "Director",
      description: "Every tool, any time, from any network.",
      principals: [{ kind: "group", value: "finops-directors" }],
      grants: [{ portalId, serverSlug: null, toolName: null, riskClasses: ["read", "write", "destructive", "financial"] }],
      stepUpRiskClasses: [],
      conditions: { timeWindows: [], networks: [], mfaRequired: false, maxLookbackDays: null },
    },
    {
      slug: "finops-auditor",
      name: "Auditor",
      description: "Read-only tools across the portal, for reviews.",
      principals: [{ kind: "group", value: "finops-auditors" }],
      grants: [{ portalId, serverSlug: null, toolName: null, riskClasses: ["read"] }],
      stepUpRiskClasses: ["write", "destructive", "financial"],
      conditions: { timeWindows: [], networks: [], mfaRequired: true, maxLookbackDays: null },
    },
  ];
}

/** The demo's automation: a stable client id, so scripts and tests can name it. */
export const DEMO_SERVICE_ACCOUNT_CLIENT_ID = "sa_demo_analyst";
const DEMO_SERVICE_ACCOUNT_ROLE = "finops-analyst";

export type SeedDemoOptions = {
  demoPassword: string;
  servers: DemoServer[];
  sync?: boolean;
  /** The demo service account's client secret (at least 32 characters); without one, no account is seeded. */
  serviceAccountSecret?: string;
  /** A day of demo MCP traffic and the alerts it raises (for `npm start`; tests make their own). */
  demoTraffic?: boolean;
};

export type SeedDemoResult = {
  portalSlug: string;
  /** Set when a service account was seeded (`serviceAccountSecret` given). */
  serviceAccountClientId?: string;
};

/**
 * The demo data set: personas, the bundled FinOps servers (registered and synced), the `finops`
 * portal, the policy templates and, given a secret, a service account holding the Analyst role.
 * Idempotent: what exists is left as it is, so a re-run never undoes an admin's changes; only a
 * demo server's URL follows its current port, and the service account's secret is reset to the
 * one given (so the credentials printed at start keep working).
 */
export async function seedDemo(db: Db, options: SeedDemoOptions): Promise<SeedDemoResult> {
  const passwordHash = await hashPassword(options.demoPassword);
  for (const user of DEMO_USERS) {
    await db.user.upsert({ where: { email: user.email }, create: { ...user, passwordHash, source: "local" }, update: {} });
  }

  const serverIds: string[] = [];
  for (const demo of options.servers) {
    const existing = await db.server.findUnique({ where: { slug: demo.id } });
    const server = existing
      ? existing.url === demo.url
        ? existing
        : await updateServer(db, seedActor, existing.id, { url: demo.url })
      : await createServer(db, seedActor, { slug: demo.id, name: demo.name, description: demo.description, url: demo.url });
    serverIds.push(server.id);
    if (options.sync !== false) await syncServer(db, seedActor, server.id);
    // FinOps risk classes cannot be read from MCP annotations (there is no "financial" hint).
    for (const [tool, riskClass] of Object.entries(DEMO_RISK_CLASSES[demo.id] ?? {})) {
      await db.tool.updateMany({ where: { serverId: server.id, name: tool, riskClassManual: false }, data: { riskClass, riskClassManual: true } });
    }
  }

  let portal = await db.portal.findUnique({ where: { slug: "finops" } });
  if (!portal) {
    const created = await createPortal(db, seedActor, {
      slug: "finops",
      name: "FinOps",
      description: "Cost explorer, resource tagging and budgets for the FinOps team.",
      serverIds,
    });
    portal = await db.portal.findUniqueOrThrow({ where: { id: created.id } });
  }

  for (const template of roleTemplates(portal.id)) {
    if (!(await db.portalRole.findUnique({ where: { slug: template.slug } }))) await createRole(db, seedActor, template, { isTemplateForServersToCome: true });
  }

  if (options.demoTraffic) await seedDemoTraffic(db);
  await seedStepUp(db, portal.slug);
  await seedAuditDemo(db);

  if (options.serviceAccountSecret === undefined) return { portalSlug: portal.slug };
  const analyst = await db.portalRole.findUnique({ where: { slug: DEMO_SERVICE_ACCOUNT_ROLE }, select: { id: true } });
  const account = await seedServiceAccount(db, seedActor, {
    clientId: DEMO_SERVICE_ACCOUNT_CLIENT_ID,
    name: "Demo automation (Analyst)",
    portalRoleId: analyst?.id ?? null,
    clientSecret: options.serviceAccountSecret,
  });
  return { portalSlug: portal.slug, serviceAccountClientId: account.clientId };
}
