import type { Metadata } from "next";
import Link from "next/link";
import { ShieldCheck } from "lucide-react";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { getOverview } from "@/lib/server/overview";
import { listAuditEvents } from "@/lib/server/audit-events";
import { getCostAttribution, getDashboards } from "@/lib/server/dashboards";
import { TrafficCharts } from "@/components/overview/traffic-charts";
import { buttonVariants } from "@/components/ui/button";
import { PageHeader } from "@/components/ui/page-header";
import { GettingStarted, OverviewCards, RecentChanges } from "@/components/overview/overview";

export const metadata: Metadata = { title: "Overview" };

export default async function OverviewPage() {
  const actor = await requireUser();
  const db = await getDb();
  const canReadAudit = can(actor, "audit:read");
  const canReadDashboards = can(actor, "dashboards:read");
  const [overview, changes, traffic, cost] = await Promise.all([
    getOverview(db, actor),
    canReadAudit ? listAuditEvents(db, actor, { kind: "config.change", limit: 8 }) : null,
    canReadDashboards ? getDashboards(db, actor, { range: "24h" }) : null,
    canReadDashboards ? getCostAttribution(db, actor, { range: "24h" }) : null,
  ]);
  const firstName = actor.name.trim().split(/\s+/)[0] || actor.email;
  const isEmpty = overview.servers.total === 0 || overview.portals === 0;

  return (
    <>
      <PageHeader
        title={`Welcome back, ${firstName}`}
        description="How your MCP servers, portals and roles stand right now."
        actions={
          <Link href="/account/security" className={buttonVariants({ variant: "outline" })}>
            <ShieldCheck aria-hidden />
            Security settings
          </Link>
        }
      />
      <div className="flex flex-col gap-6">
        {isEmpty ? <GettingStarted overview={overview} canWrite={can(actor, "registry:write")} /> : null}
        <OverviewCards overview={overview} />
        {traffic && cost ? <TrafficCharts initial={traffic} initialCost={cost} /> : null}
        {changes ? <RecentChanges events={changes.items} seesAll={can(actor, "audit:all:read")} /> : null}
      </div>
    </>
  );
}
