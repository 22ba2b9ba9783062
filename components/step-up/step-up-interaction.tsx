"use client";

import { useQuery } from "@tanstack/react-query";
import { Clock, ShieldAlert } from "lucide-react";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { Frame } from "@/components/oauth/consent-card";
import { SignInAgain } from "@/components/step-up/sign-in-again";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button, buttonVariants } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { LocalTime } from "@/components/ui/local-time";
import { WaitedTime } from "@/components/ui/relative-time";
import { Spinner } from "@/components/ui/spinner";
import { Textarea } from "@/components/ui/textarea";
import type { StepUpRequestView } from "@/lib/schemas/step-up";

type PageState = { kind: "needs_mfa"; hasTotp: boolean; isSso?: boolean } | { kind: "form"; durations: number[]; roleName: string };

export type StepUpInteractionProps = {
  uid: string;
  formToken: string;
  clientName: string;
  portal: { name: string; slug: string };
  riskClass: string;
  user: { email: string };
  initial: PageState;
  /** A request already filed from this interaction (after a reload). */
  requestId: string | null;
};

export const RISK_TEXT: Record<string, string> = {
  read: "read data",
  write: "change things (for example tag resources)",
  destructive: "delete or overwrite things",
  financial: "change budgets and spending",
};

/** What a reason could say for each risk class: the form's example, never a write example for a budget. */
export const REASON_EXAMPLE: Record<string, string> = {
  read: "Check last month's spend for the cost review",
  write: "Tag the Q4 cost-centre resources for the audit",
  destructive: "Remove the stale tags left by the Q3 migration",
  financial: "Raise the Q1 pilot budget, as agreed in finance ticket FIN-1234",
};
export const reasonPlaceholder = (riskClass: string) => REASON_EXAMPLE[riskClass] ?? "What you will do with it, and the ticket it is for";

/** The form's default window: the shortest the role allows (least privilege); asking for longer is a choice. */
export const shortestDuration = (durations: number[]) => String(durations.length ? Math.min(...durations) : 15);

/** How long a denial's note (or an ended request) shows before the client gets `access_denied`. */
const RETURN_SECONDS = 5;

type Errors = Record<string, string>;

async function post(uid: string, body: Record<string, unknown>): Promise<{ ok: boolean; status: number; data: Record<string, unknown> }> {
  const res = await fetch(`/oauth/interaction/${encodeURIComponent(uid)}/step-up`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const data = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  return { ok: res.ok, status: res.status, data };
}

function errorsOf(data: Record<string, unknown>): Errors {
  const list = Array.isArray(data.errors) ? (data.errors as { field: string; message: string }[]) : [];
  return Object.fromEntries(list.map((e) => [e.field, e.message]));
}

/**
 * The authorization page for an elevated scope: says what is asked (portal, risk class, why it
 * needs a manager), asks for the second factor again when it is old, files the request, then waits
 * (polling every second) and finishes the client's authorization on the decision.
 */
export function StepUpInteraction(props: StepUpInteractionProps) {
  const { uid, formToken, portal, riskClass } = props;
  const router = useRouter();
  const [requestId, setRequestId] = useState<string | null>(props.requestId);
  const [problem, setProblem] = useState<string | null>(null);
  const [errors, setErrors] = useState<Errors>({});
  const [busy, setBusy] = useState(false);
  const [finished, setFinished] = useState<{ outcome: string; note: string | null; location: string } | null>(null);
  const finishing = useRef(false);

  const request = useQuery({
    queryKey: ["step-up-requests", "detail", requestId],
    queryFn: async (): Promise<StepUpRequestView> => {
      const res = await fetch(`/api/v1/step-up-requests/${encodeURIComponent(requestId!)}`);
      if (!res.ok) throw new Error("Could not read the request");
      return (await res.json()) as StepUpRequestView;
    },
    enabled: !!requestId && !finished,
    refetchInterval: 1000,
  });
  const status = request.data?.status;
  // Approved counts once the gateways run the grant: the client goes straight to a call with its new token.
  const isDecided = !!status && status !== "pending" && request.data?.isInForce !== false;

  useEffect(() => {
    if (!requestId || !isDecided || finishing.current) return;
    finishing.current = true;
    void post(uid, { token: formToken, action: "finish", requestId }).then(({ ok, data }) => {
      if (!ok) {
        setProblem(typeof data.error === "string" ? data.error : "Could not finish the sign-in");
        return;
      }
      if (data.status !== "done") {
        finishing.current = false;
        return;
      }
      const location = String(data.location);
      if (data.outcome === "approved") window.location.assign(location);
      else setFinished({ outcome: String(data.outcome), note: (data.note as string | null) ?? null, location });
    });
  }, [requestId, isDecided, request.dataUpdatedAt, uid, formToken]);

  async function submitTotp(form: FormData) {
    setBusy(true);
    const { ok, data } = await post(uid, { token: formToken, action: "totp", code: String(form.get("code") ?? "") });
    setBusy(false);
    if (!ok) return setErrors(errorsOf(data));
    router.refresh();
  }

  async function submitRequest(form: FormData) {
    setBusy(true);
    setProblem(null);
    const { ok, data } = await post(uid, { token: formToken, action: "file", reason: String(form.get("reason") ?? ""), durationMinutes: Number(form.get("durationMinutes")) });
    setBusy(false);
    if (!ok) {
      setErrors(errorsOf(data));
      return setProblem(typeof data.error === "string" ? data.error : "Could not file the request");
    }
    const id = String(data.requestId);
    setRequestId(id);
    // A reload keeps waiting for the same request instead of filing another.
    window.history.replaceState(null, "", `?request=${encodeURIComponent(id)}`);
  }

  async function cancel() {
    if (!requestId) return;
    await post(uid, { token: formToken, action: "cancel", requestId });
    await request.refetch();
  }

  const header = (
    <div className="space-y-2">
      <h1 className="flex items-center gap-2 text-lg font-semibold" data-testid="step-up-title">
        <ShieldAlert className="size-5 text-warning-strong" aria-hidden /> Elevated access needs approval
      </h1>
      <p className="text-sm text-muted-foreground">
        <span className="font-medium text-foreground">{props.clientName}</span> asks to {RISK_TEXT[riskClass] ?? `use ${riskClass} tools`} on{" "}
        <span className="font-medium text-foreground">{portal.name}</span> as {props.user.email}.
      </p>
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
        <dt className="text-muted-foreground">Portal</dt>
        <dd>{portal.name}</dd>
        <dt className="text-muted-foreground">Risk class</dt>
        <dd>
          <Badge variant="outline">{riskClass}</Badge> <span className="font-mono text-xs text-muted-foreground">mcp:elevated:{riskClass}</span>
        </dd>
      </dl>
      <p className="text-xs text-muted-foreground">Your role lets you use these tools only with a manager&apos;s approval, for a limited time. The request, the decision and every call made with it are audited.</p>
    </div>
  );

  let body: React.ReactNode;
  if (finished) {
    const back = <ReturnToClient location={finished.location} clientName={props.clientName} />;
    body =
      finished.outcome === "denied" ? (
        <div className="space-y-4" data-testid="step-up-denied">
          <Alert variant="destructive" title="Your request was denied">
            {finished.note ? <>Note from the approver: &ldquo;{finished.note}&rdquo;</> : "No note was given."}
          </Alert>
          {back}
        </div>
      ) : (
        <div className="space-y-4" data-testid="step-up-ended">
          <Alert variant="warning" title={`Your request ${finished.outcome === "withdrawn" ? "was withdrawn" : "expired"}`}>
            Start again from your MCP client if you still need it.
          </Alert>
          {back}
        </div>
      );
  } else if (requestId) {
    body = (
      <div className="space-y-4" data-testid="step-up-waiting">
        <div className="flex items-center gap-3 rounded-lg border bg-muted/40 p-4">
          <Spinner className="size-5" />
          <div className="text-sm">
            <p className="font-medium">{status === "approved" ? "Approved: waiting for the gateways to run it" : "Waiting for a manager's decision"}</p>
            <p className="text-muted-foreground">
              This page continues by itself once it is decided. {request.data ? <>Waiting <WaitedTime since={request.data.createdAt} />; the request expires at <LocalTime value={request.data.expiresAt} shape="time" />.</> : null}
            </p>
          </div>
        </div>
        {request.data ? (
          <p className="text-sm text-muted-foreground">
            <Clock className="mr-1 inline size-4" aria-hidden />
            {request.data.durationMinutes} minutes asked · &ldquo;{request.data.reason}&rdquo;
          </p>
        ) : null}
        <Button variant="outline" className="w-full" onClick={cancel}>
          Withdraw the request
        </Button>
      </div>
    );
  } else if (props.initial.kind === "needs_mfa") {
    body = props.initial.hasTotp ? (
      <form action={submitTotp} className="space-y-4" data-testid="step-up-mfa">
        <p className="text-sm">Confirm it is you: enter the code from your authenticator app. Elevated access needs a second factor from the last few minutes.</p>
        <FormField label="Authentication code" htmlFor="code" error={errors.code} required>
          <Input name="code" inputMode="numeric" autoComplete="one-time-code" maxLength={6} autoFocus />
        </FormField>
        <Button type="submit" className="w-full" loading={busy}>
          Continue
        </Button>
      </form>
    ) : props.initial.isSso ? (
      <Alert variant="warning" title="Sign in again first" data-testid="step-up-sign-in-again">
        <p>Elevated access needs a second factor from the last few minutes. Sign in at your company&apos;s identity provider again; you come back here to finish.</p>
        <div className="mt-3">
          <SignInAgain />
        </div>
      </Alert>
    ) : (
      <Alert variant="warning" title="Set up a second factor first">
        Elevated access needs a second factor from the last few minutes, and your account has none. Set up an authenticator app in your account, then start again from your MCP client.
      </Alert>
    );
  } else {
    body = (
      <form action={submitRequest} className="space-y-4" data-testid="step-up-form">
        <FormField label="Why do you need it?" htmlFor="reason" error={errors.reason} description="Your approver reads this." required>
          <Textarea name="reason" placeholder={reasonPlaceholder(riskClass)} maxLength={1000} />
        </FormField>
        <FormField label="For how long?" htmlFor="durationMinutes" error={errors.durationMinutes} description={`Allowed by your role "${props.initial.roleName}".`} required>
          <Select name="durationMinutes" defaultValue={shortestDuration(props.initial.durations)} options={props.initial.durations.map((m) => ({ value: String(m), label: `${m} minutes` }))} />
        </FormField>
        <Button type="submit" className="w-full" loading={busy}>
          Ask for approval
        </Button>
      </form>
    );
  }

  return (
    <Frame>
      <div className="space-y-5 rounded-xl border bg-card p-6 shadow-xs">
        {header}
        {problem ? <Alert variant="destructive" title={problem} /> : null}
        {body}
      </div>
    </Frame>
  );
}

/**
 * After a denial (or a request that ended without approval): the client waits on its redirect URI,
 * so the page sends it `access_denied` by itself after a few seconds to read the note, as an
 * approval continues by itself; "Back now" goes at once.
 */
function ReturnToClient({ location, clientName }: { location: string; clientName: string }) {
  const [left, setLeft] = useState(RETURN_SECONDS);
  // Once on the way (the count ran out or "Back now" was clicked), no second navigation: the
  // authorization request resumes once.
  const [leaving, setLeaving] = useState(false);
  useEffect(() => {
    if (leaving) return;
    const timer = setTimeout(() => {
      if (left > 1) return setLeft(left - 1);
      setLeaving(true);
      window.location.assign(location);
    }, 1000);
    return () => clearTimeout(timer);
  }, [left, leaving, location]);
  return (
    <div className="flex items-center justify-between gap-3 text-sm text-muted-foreground">
      <p data-testid="step-up-return-countdown">
        {leaving ? `Back to ${clientName}…` : `Back to ${clientName} in ${left} s…`}
      </p>
      <a href={location} onClick={() => setLeaving(true)} className={buttonVariants({ variant: "outline", size: "sm" })}>
        Back now
      </a>
    </div>
  );
}
