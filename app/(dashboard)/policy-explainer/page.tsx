import type { Metadata } from "next";

import { requireUser } from "@/lib/server/auth/current";
import { can } from "@/lib/server/auth/actor";
import { getDb } from "@/lib/server/db/instance";
import { explainerOptions } from "@/lib/server/policy-explainer";
import { PolicyExplainer } from "@/components/policy/policy-explainer";
import { VersionWhatIf } from "@/components/policy/version-what-if";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";

export const metadata: Metadata = { title: "Policy explainer" };
export const dynamic = "force-dynamic";

const DESCRIPTION =
  "Can someone call a tool, and why? The same policy evaluator the gateway runs, on the configuration gateways run now: the decision, each role that matched or not, and each condition that held or failed.";

export default async function PolicyExplainerPage() {
  const actor = await requireUser();
  if (!can(actor, "config:read")) {
    return (
      <>
        <PageHeader title="Policy explainer" description={DESCRIPTION} />
        <Alert variant="warning" title="You do not have access to this page">
          The policy explainer is for admins and auditors.
        </Alert>
      </>
    );
  }
  const options = await explainerOptions(await getDb(), actor);
  return (
    <>
      <PageHeader title="Policy explainer" description={DESCRIPTION} />
      <div className="space-y-6">
        <PolicyExplainer options={options} />
        {options.version !== null && options.version > 1 ? <VersionWhatIf latest={options.version} /> : null}
      </div>
    </>
  );
}
