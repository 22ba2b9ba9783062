import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listAlertChannels, listAlertRules, listAlerts } from "@/lib/server/alerts/alerts";
import { listAlertsParams } from "@/lib/schemas/alert";
import { AlertChannels } from "@/components/alerts/alert-channels";
import { AlertRules } from "@/components/alerts/alert-rules";
import { AlertsInbox } from "@/components/alerts/alerts-inbox";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";

export const metadata: Metadata = { title: "Alerts" };
export const dynamic = "force-dynamic";

const DESCRIPTION = "What the alert rules found in the audit stream and in the state of gateways, servers and credentials: acknowledge, resolve or snooze, and choose where alerts are sent.";

export default async function AlertsPage({ searchParams }: { searchParams: Promise<Record<string, string | undefined>> }) {
  const actor = await requireUser();
  if (!can(actor, "alerts:read")) {
    return (
      <>
        <PageHeader title="Alerts" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Alerts are for admins, approvers and auditors.
        </Alert>
      </>
    );
  }
  const query = await searchParams;
  const parsed = listAlertsParams.safeParse({ status: query.status ?? "open", severity: query.severity || undefined, limit: 100 });
  const params = parsed.success ? parsed.data : { status: "open" as const, limit: 100 };
  const db = await getDb();
  const [alerts, rules, channels] = await Promise.all([listAlerts(db, actor, params), listAlertRules(db, actor), listAlertChannels(db, actor)]);
  return (
    <>
      <PageHeader title="Alerts" description={DESCRIPTION} />
      <Tabs defaultValue={query.tab === "rules" || query.tab === "channels" ? query.tab : "inbox"}>
        <TabsList>
          <TabsTrigger value="inbox">Inbox</TabsTrigger>
          <TabsTrigger value="rules">Rules</TabsTrigger>
          <TabsTrigger value="channels">Channels</TabsTrigger>
        </TabsList>
        <TabsContent value="inbox">
          <AlertsInbox initial={alerts} initialFilters={{ status: params.status ?? "", severity: params.severity ?? "" }} canAct={can(actor, "alerts:ack")} />
        </TabsContent>
        <TabsContent value="rules">
          <AlertRules initial={rules} canEdit={can(actor, "alerts:write")} />
        </TabsContent>
        <TabsContent value="channels">
          <AlertChannels initial={channels} canEdit={can(actor, "alerts:write")} />
        </TabsContent>
      </Tabs>
    </>
  );
}
