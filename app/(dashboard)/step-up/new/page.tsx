import type { Metadata } from "next";
import { Alert } from "@/components/ui/alert";
import { PageHeader } from "@/components/ui/page-header";
import { cookies } from "next/headers";
import { StepUpRequestForm } from "@/components/step-up/step-up-request-form";
import { SignInAgain } from "@/components/step-up/sign-in-again";
import { StepUpTotpPrompt } from "@/components/step-up/step-up-totp-prompt";
import { auth } from "@/lib/server/auth/next-auth";
import { mfaFreshness, mfaWindowMinutes, STEP_UP_MFA_COOKIE } from "@/lib/server/oauth/step-up";
import { parseStepUpLink } from "@/lib/schemas/step-up-link";
import { requireUser } from "@/lib/server/auth/current";
import { getDb } from "@/lib/server/db/instance";
import { stepUpLinkState } from "@/lib/server/step-up-link";

export const metadata: Metadata = { title: "Request elevated access" };
export const dynamic = "force-dynamic";

/**
 * Where a gateway's tool error sends a client that cannot re-authorize: the person asks for
 * elevated access here, a manager approves it in Approvals, and the client's next call goes
 * through on the grant. Reached by link, or from My access (/step-up), whose sidebar entry it sits under.
 */
export default async function NewStepUpRequestPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const actor = await requireUser();
  const header = (
    <PageHeader
      title="Request elevated access"
      description="Your role lets you use this tool only with a manager's approval, for a limited time. The request, the decision and every call made with it are audited."
    />
  );
  const parsed = parseStepUpLink(await searchParams);
  if (!parsed.ok) {
    return (
      <>
        {header}
        <Alert variant="warning" title="This link is incomplete" data-testid="step-up-link-problem">
          <ul className="list-disc pl-5">
            {parsed.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
          <p className="mt-2">Open the link from your client&apos;s error message again, or ask for access from your MCP client.</p>
        </Alert>
      </>
    );
  }
  const db = await getDb();
  const state = await stepUpLinkState(db, actor.userId, parsed.link);
  // As on the authorization page: a second factor older than the window is asked for again before the form.
  const freshness = state.kind === "form" && !state.request && !state.activeUntil ? await mfaFreshness(db, actor.userId, { sessionMfaAt: (await auth())?.mfaAt ?? null, cookie: (await cookies()).get(STEP_UP_MFA_COOKIE)?.value }) : null;
  if (freshness?.kind === "stale") {
    return (
      <>
        {header}
        {freshness.hasTotp ? (
          <StepUpTotpPrompt windowMinutes={mfaWindowMinutes()} />
        ) : (
          <Alert variant="warning" title="Sign in again first" data-testid="step-up-sign-in-again">
            <p>Elevated access needs a second factor from the last {mfaWindowMinutes()} minutes. Sign in at your company&apos;s identity provider again; you come back to this page.</p>
            <div className="mt-3">
              <SignInAgain />
            </div>
          </Alert>
        )}
      </>
    );
  }
  return (
    <>
      {header}
      {state.kind === "refused" ? (
        <Alert variant="destructive" title={state.title} data-testid="step-up-refused">
          {state.message}
        </Alert>
      ) : (
        <StepUpRequestForm
          portal={state.portal}
          riskClass={parsed.link.risk}
          server={parsed.link.server ?? null}
          tool={parsed.link.tool ?? null}
          roleName={state.roleName}
          durations={state.durations}
          perCall={state.perCall}
          user={{ email: actor.email }}
          initialRequest={state.request}
          activeUntil={state.activeUntil}
        />
      )}
    </>
  );
}
