import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { listVersionHistory } from "@/lib/server/config-changes";
import { ConfigVersionsView } from "@/components/config-versions/config-versions-view";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Config versions" };
export const dynamic = "force-dynamic";

const DESCRIPTION =
  "Every saved change publishes a new signed version. See who changed what, compare any two versions, and roll back in one click: a rollback is a new version, so history only grows.";

export default async function ConfigVersionsPage() {
  const actor = await requireUser();
  if (!can(actor, "config:read")) {
    return (
      <>
        <PageHeader title="Config versions" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Config history is for admins and auditors.
        </Alert>
      </>
    );
  }
  const versions = await listVersionHistory(await getDb(), actor, { limit: 100 });
  return (
    <>
      <PageHeader title="Config versions" description={DESCRIPTION} />
      {versions.items.length === 0 ? (
        <p className="text-sm text-muted-foreground">Nothing published yet.</p>
      ) : (
        <ConfigVersionsView versions={versions.items} canRollBack={can(actor, "registry:write")} />
      )}
    </>
  );
}
