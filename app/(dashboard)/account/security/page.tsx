import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { getMfaStatus } from "@/lib/server/auth/mfa";
import { getDb } from "@/lib/server/db/instance";
import { PageHeader } from "@/components/ui/page-header";
import { MfaSettings } from "@/components/account/mfa-settings";

export const metadata: Metadata = { title: "Security settings" };

export default async function AccountSecurityPage() {
  const actor = await requireUser();
  const status = await getMfaStatus(await getDb(), actor);
  return (
    <>
      <PageHeader title="Security settings" description={`How you sign in to Portico as ${status.email}.`} />
      <MfaSettings isSso={status.isSso} isEnabled={status.isEnabled} recoveryCodesLeft={status.recoveryCodesLeft} />
    </>
  );
}
