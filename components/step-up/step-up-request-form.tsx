"use client";

import { useQuery } from "@tanstack/react-query";
import { CheckCircle2, Clock } from "lucide-react";
import { useEffect, useState } from "react";
import { reasonPlaceholder, RISK_TEXT, shortestDuration } from "@/components/step-up/step-up-interaction";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent } from "@/components/ui/card";
import { LocalTime } from "@/components/ui/local-time";
import { FormField } from "@/components/ui/form-field";
import { Select } from "@/components/ui/select";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import { api, ApiError } from "@/lib/api/client";
import { stepUpRequestKeys } from "@/lib/api/query-keys";
import { PER_CALL_GRANT_MINUTES, type StepUpRequestView } from "@/lib/schemas/step-up";

/** How often the page asks whether the request was decided. */
const POLL_MS = 2000;

export type StepUpRequestFormProps = {
  portal: { slug: string; name: string };
  riskClass: string;
  server: string | null;
  tool: string | null;
  roleName: string;
  durations: number[];
  /** The role approves this risk class call by call: the request is for exactly this call (from the link). */
  perCall?: { server: string; tool: string; arguments: Record<string, unknown> } | null;
  user: { email: string };
  /**
   * The request the page shows instead of the form: one already pending for this portal and risk
   * class, or the one the URL names (after a reload), in its state now.
   */
  initialRequest: StepUpRequestView | null;
  /** An approved window for this risk class already running (ISO time): nothing to ask for until then. */
  activeUntil: string | null;
};

/**
 * The request page's body: what is asked and why, the reason and duration, then the request's
 * state, polled every two seconds until a manager decides (the note shows on a denial) and, on an
 * approval, until the gateways run the grant. The client that hit the tool error needs no new
 * token: once the page says approved, its next call goes through.
 */
export function StepUpRequestForm(props: StepUpRequestFormProps) {
  const { portal, riskClass, server, tool } = props;
  const perCall = props.perCall ?? null;
  const [requestId, setRequestId] = useState<string | null>(props.initialRequest?.id ?? null);
  const [problem, setProblem] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  const request = useQuery({
    queryKey: stepUpRequestKeys.detail(requestId ?? ""),
    queryFn: () => api<StepUpRequestView>("GET", `/step-up-requests/${encodeURIComponent(requestId!)}`),
    enabled: !!requestId,
    initialData: props.initialRequest && props.initialRequest.id === requestId ? props.initialRequest : undefined,
    // Approved but not yet run by every gateway: polled on until it is, when a retry goes through.
    refetchInterval: (query) => (query.state.data && query.state.data.status !== "pending" && query.state.data.isInForce !== false ? false : POLL_MS),
  });

  // The URL names the request shown, so that a reload shows its state (a denial's note) again, not a blank form.
  useEffect(() => {
    const url = new URL(window.location.href);
    if (!requestId || url.searchParams.get("request") === requestId) return;
    url.searchParams.set("request", requestId);
    window.history.replaceState(window.history.state, "", url);
  }, [requestId]);

  /** The same link without the request: the form, to ask again. */
  function askAgain() {
    const url = new URL(window.location.href);
    url.searchParams.delete("request");
    window.location.assign(url);
  }

  async function submit(form: FormData) {
    setBusy(true);
    setProblem(null);
    setErrors({});
    try {
      const filed = await api<StepUpRequestView>("POST", "/step-up-requests", {
        portal: portal.slug,
        riskClass,
        ...(server ? { server } : {}),
        ...(tool ? { tool } : {}),
        ...(perCall ? { arguments: perCall.arguments } : {}),
        reason: String(form.get("reason") ?? ""),
        durationMinutes: perCall ? PER_CALL_GRANT_MINUTES : Number(form.get("durationMinutes")),
      });
      setRequestId(filed.id);
    } catch (error) {
      if (error instanceof ApiError) {
        setErrors(error.fieldMap());
        setProblem(error.message);
      } else setProblem("Could not file the request. Check your connection and try again.");
    } finally {
      setBusy(false);
    }
  }

  async function withdraw() {
    if (!requestId) return;
    await api("POST", `/step-up-requests/${encodeURIComponent(requestId)}/withdraw`, {}).catch(() => undefined);
    await request.refetch();
  }

  const view = request.data;
  let body: React.ReactNode;
  if (requestId && view?.status === "approved" && view.isInForce === false) {
    body = (
      <div className="flex items-center gap-3 rounded-lg border bg-muted/40 p-4" data-testid="step-up-approved-propagating">
        <Spinner className="size-5" />
        <div className="text-sm">
          <p className="font-medium">{view.decidedBy ? `${view.decidedBy} approved it` : "Approved"}: waiting for the gateways to run it</p>
          <p className="text-muted-foreground">This usually takes a second. Retry the call from your client once this page says so; before then it is still refused.</p>
        </div>
      </div>
    );
  } else if (requestId && view?.status === "approved") {
    body = (
      <Alert variant="success" title="Approved" data-testid="step-up-approved">
        {view.decidedBy ? <>{view.decidedBy} approved it. </> : null}
        {view.decisionNote ? <>Note: &ldquo;{view.decisionNote}&rdquo;. </> : null}
        {view.isPerCall
          ? <>Make exactly this call again from your client within {view.durationMinutes} minutes: it goes through once, with these arguments only.</>
          : <>Retry the call from your client now: it goes through for the next {view.durationMinutes} minutes, without signing in again.</>}
      </Alert>
    );
  } else if (requestId && view?.status === "denied") {
    body = (
      <Alert variant="destructive" title="Your request was denied" data-testid="step-up-denied">
        <p>{view.decisionNote ? <>Note from {view.decidedBy ?? "the approver"}: &ldquo;{view.decisionNote}&rdquo;</> : "No note was given."}</p>
        <Button variant="outline" size="sm" className="mt-3" onClick={askAgain}>
          Ask again
        </Button>
      </Alert>
    );
  } else if (requestId && view && view.status !== "pending") {
    body = (
      <Alert variant="warning" title={`Your request ${view.status === "withdrawn" ? "was withdrawn" : "expired"}`} data-testid="step-up-ended">
        <p>Ask again if you still need it.</p>
        <Button variant="outline" size="sm" className="mt-3" onClick={askAgain}>
          Ask again
        </Button>
      </Alert>
    );
  } else if (requestId) {
    body = (
      <div className="space-y-4" data-testid="step-up-waiting">
        <div className="flex items-center gap-3 rounded-lg border bg-muted/40 p-4">
          <Spinner className="size-5" />
          <div className="text-sm">
            <p className="font-medium">Waiting for a manager&apos;s decision</p>
            <p className="text-muted-foreground">
              This page updates by itself. {view ? <>The request expires at <LocalTime value={view.expiresAt} shape="time" /> if no one decides.</> : null}
            </p>
          </div>
        </div>
        {view ? (
          <p className="text-sm text-muted-foreground">
            <Clock className="mr-1 inline size-4" aria-hidden />
            {view.isPerCall ? "one call" : `${view.durationMinutes} minutes`} asked · &ldquo;{view.reason}&rdquo;
          </p>
        ) : null}
        {request.isError ? <Alert variant="warning" title="Could not read the request's state; still trying." /> : null}
        <Button variant="outline" onClick={withdraw}>
          Withdraw the request
        </Button>
      </div>
    );
  } else if (props.activeUntil) {
    body = (
      <Alert variant="success" title="You already have this access" data-testid="step-up-active">
        An approved request covers {riskClass} tools on {portal.name} until <LocalTime value={props.activeUntil} shape="time" />. Retry the call from your client; ask again here once it ends.
      </Alert>
    );
  } else {
    body = (
      <form action={submit} className="space-y-4" data-testid="step-up-form">
        <FormField label="Why do you need it?" htmlFor="reason" error={errors.reason} description="Your approver reads this." required>
          <Textarea name="reason" placeholder={reasonPlaceholder(riskClass)} maxLength={1000} />
        </FormField>
        {perCall ? null : (
          <FormField label="For how long?" htmlFor="durationMinutes" error={errors.durationMinutes} description={`Allowed by your role "${props.roleName}".`} required>
            <Select name="durationMinutes" defaultValue={shortestDuration(props.durations)} options={props.durations.map((m) => ({ value: String(m), label: `${m} minutes` }))} />
          </FormField>
        )}
        <Button type="submit" loading={busy}>
          Ask for approval
        </Button>
      </form>
    );
  }

  return (
    <Card className="max-w-2xl">
      <CardContent className="space-y-5">
        <div className="space-y-2" data-testid="step-up-ask">
          <p className="text-sm">
            You ({props.user.email}) ask to {RISK_TEXT[riskClass] ?? `use ${riskClass} tools`} on <span className="font-medium">{portal.name}</span>.
          </p>
          <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
            <dt className="text-muted-foreground">Portal</dt>
            <dd>{portal.name}</dd>
            <dt className="text-muted-foreground">Risk class</dt>
            <dd>
              <Badge variant="outline">{riskClass}</Badge>
            </dd>
            {tool ? (
              <>
                <dt className="text-muted-foreground">Tool</dt>
                <dd className="font-mono text-xs leading-5">{server ? `${server}_${tool}` : tool}</dd>
              </>
            ) : null}
          </dl>
          {perCall ? (
            <>
              <p className="text-sm text-muted-foreground">The exact call your approver will see, and the only one the approval lets through:</p>
              <pre className="overflow-x-auto rounded bg-muted p-2 font-mono text-xs" data-testid="step-up-link-arguments">
                {JSON.stringify(perCall.arguments, null, 2)}
              </pre>
              <p className="text-xs text-muted-foreground">
                Why approval: your role lets you make {riskClass} calls here one at a time, each approved by a manager with its arguments. The approval lets this call through once, within {PER_CALL_GRANT_MINUTES} minutes; a call with other arguments is refused.
              </p>
            </>
          ) : (
            <p className="text-xs text-muted-foreground">
              Why approval: your role lets you use {riskClass} tools here only when a manager approves it. An approval covers every {riskClass} tool of this portal for the time approved, then ends by itself.
            </p>
          )}
        </div>
        {problem ? <Alert variant="destructive" title={problem} data-testid="step-up-problem" /> : null}
        {body}
        {view?.status === "approved" ? (
          <p className="flex items-center gap-1 text-xs text-muted-foreground">
            <CheckCircle2 className="size-4" aria-hidden /> A manager can revoke it at any time from Approvals.
          </p>
        ) : null}
      </CardContent>
    </Card>
  );
}
