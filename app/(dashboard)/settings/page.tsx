import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { getSettings } from "@/lib/server/settings";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { SettingsForm } from "@/components/settings/settings-form";
import { DlpSettingsCard } from "@/components/settings/dlp-settings";
import { LogDestinationsCard, RetentionCard } from "@/components/settings/retention-settings";

export const metadata: Metadata = { title: "Settings" };

const DESCRIPTION = "Settings that apply to the whole installation. Every change is recorded in the audit log.";

export default async function SettingsPage() {
  const actor = await requireUser();
  if (!can(actor, "settings:read")) {
    return (
      <>
        <PageHeader title="Settings" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          Only admins and auditors can see the settings.
        </Alert>
      </>
    );
  }
  const db = await getDb();
  const settings = await getSettings(db, actor);
  return (
    <>
      <PageHeader title="Settings" description={DESCRIPTION} />
      <SettingsForm initialSettings={settings} canWrite={can(actor, "settings:write")} />
      <DlpSettingsCard canWrite={can(actor, "settings:write")} />
      <RetentionCard canWrite={can(actor, "settings:write")} />
      <LogDestinationsCard canWrite={can(actor, "settings:write")} />
    </>
  );
}
