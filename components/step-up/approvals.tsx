"use client";

import { useEffect, useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { CheckCircle2, Inbox, ShieldCheck } from "lucide-react";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { attentionKeys, elevatedGrantKeys, stepUpRequestKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { ElevatedGrantView, StepUpRequestView } from "@/lib/schemas/step-up";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { FormField } from "@/components/ui/form-field";
import { LocalTime } from "@/components/ui/local-time";
import { RelativeTime, WaitedTime } from "@/components/ui/relative-time";
import { Select } from "@/components/ui/select";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Textarea } from "@/components/ui/textarea";

// Live without a reload: a new request shows up within a couple of seconds.
const LIVE_MS = 2000;

export function Approvals({
  initialRequests,
  initialGrants,
  canDecide,
  focusId = null,
}: {
  initialRequests: Page<StepUpRequestView>;
  initialGrants: Page<ElevatedGrantView>;
  canDecide: boolean;
  /** A request named in the URL (`?request=`, the approver webhook's link): shown and scrolled to. */
  focusId?: string | null;
}) {
  const queryClient = useQueryClient();
  const [tab, setTab] = useState("pending");
  const [approving, setApproving] = useState<StepUpRequestView | null>(null);
  const [denying, setDenying] = useState<StepUpRequestView | null>(null);
  const [revoking, setRevoking] = useState<ElevatedGrantView | null>(null);

  const requests = useQuery({
    queryKey: stepUpRequestKeys.list({ status: "pending" }),
    queryFn: () => api<Page<StepUpRequestView>>("GET", "/step-up-requests?status=pending&limit=100"),
    initialData: initialRequests,
    refetchInterval: LIVE_MS,
  });
  const grants = useQuery({
    queryKey: elevatedGrantKeys.list({ status: "active" }),
    queryFn: () => api<Page<ElevatedGrantView>>("GET", "/elevated-grants?status=active&limit=100"),
    initialData: initialGrants,
    refetchInterval: LIVE_MS,
  });

  const refresh = () =>
    Promise.all([
      queryClient.invalidateQueries({ queryKey: stepUpRequestKeys.all }),
      queryClient.invalidateQueries({ queryKey: elevatedGrantKeys.all }),
      queryClient.invalidateQueries({ queryKey: attentionKeys.all }),
    ]);

  const all = requests.data?.items ?? [];
  // The sidebar badge counts what this person may decide; the tab counts and lists the same, and
  // says how many more wait for someone else (a role's own approvers, or the person's own request).
  const pending = canDecide ? all.filter((r) => r.canDecide) : all;
  const others = canDecide ? all.filter((r) => !r.canDecide) : [];
  const [showOthers, setShowOthers] = useState(() => others.some((r) => r.id === focusId));
  const active = grants.data?.items ?? [];
  const isFocusGone = focusId !== null && !requests.isFetching && !all.some((r) => r.id === focusId);

  useEffect(() => {
    if (focusId) document.getElementById(`request-${focusId}`)?.scrollIntoView({ block: "center" });
  }, [focusId]);

  // The sidebar badge polls more slowly than this page: when the queue this person may decide
  // changes here, the badge is asked again, so the two never show different counts for long.
  const decidable = pending.length;
  useEffect(() => {
    void queryClient.invalidateQueries({ queryKey: attentionKeys.all });
  }, [decidable, queryClient]);

  return (
    <>
      <Tabs value={tab} onValueChange={setTab}>
        <TabsList>
          <TabsTrigger value="pending">
            Pending requests {pending.length ? <Badge variant="warning">{pending.length}</Badge> : null}
          </TabsTrigger>
          <TabsTrigger value="active">Active elevated access {active.length ? <Badge variant="info">{active.length}</Badge> : null}</TabsTrigger>
        </TabsList>

        <TabsContent value="pending" className="mt-4 space-y-3">
          {requests.error ? <Alert variant="destructive" title="Could not load the queue">{requests.error.message}</Alert> : null}
          {isFocusGone ? (
            <Alert variant="info" title="That request is no longer pending" data-testid="focus-gone">
              It was decided, withdrawn or expired. Its events are in the audit log.
            </Alert>
          ) : null}
          {pending.length === 0 ? (
            <EmptyState
              icon={<Inbox />}
              title={others.length ? "Nothing waits for your decision" : "Nothing waits for a decision"}
              description="When someone asks for elevated access, the request shows up here within seconds."
            />
          ) : (
            pending.map((r) => <RequestCard key={r.id} request={r} canDecide={canDecide} isFocused={r.id === focusId} onApprove={() => setApproving(r)} onDeny={() => setDenying(r)} />)
          )}
          {others.length ? (
            <p className="text-sm text-muted-foreground" data-testid="other-requests">
              {others.length} more pending {others.length === 1 ? "request is" : "requests are"} for other approvers or your own.{" "}
              <Button variant="link" size="sm" className="h-auto p-0" onClick={() => setShowOthers((v) => !v)}>
                {showOthers ? "Hide" : "Show"}
              </Button>
            </p>
          ) : null}
          {showOthers ? others.map((r) => <RequestCard key={r.id} request={r} canDecide={canDecide} isFocused={r.id === focusId} onApprove={() => undefined} onDeny={() => undefined} />) : null}
        </TabsContent>

        <TabsContent value="active" className="mt-4">
          {active.length === 0 ? (
            <EmptyState icon={<ShieldCheck />} title="No one holds elevated access" description="Approved requests appear here until they end or are revoked." />
          ) : (
            <Table data-testid="grants-table">
              <TableHeader>
                <TableRow>
                  <TableHead>Who</TableHead>
                  <TableHead>Portal</TableHead>
                  <TableHead>Access</TableHead>
                  <TableHead>Until</TableHead>
                  <TableHead>Used</TableHead>
                  <TableHead>Approved by</TableHead>
                  <TableHead />
                </TableRow>
              </TableHeader>
              <TableBody>
                {active.map((g) => (
                  <TableRow key={g.id} data-testid="grant-row">
                    <TableCell className="font-medium">{g.principal.label}</TableCell>
                    <TableCell>{g.portalSlug}</TableCell>
                    <TableCell>
                      <Badge variant="outline">{g.riskClass}</Badge> {g.isPerCall ? <span className="text-xs text-muted-foreground">one call: {g.tool}</span> : null}
                    </TableCell>
                    <TableCell>
                      <LocalTime value={g.endsAt} shape="time" /> <span className="text-xs text-muted-foreground">(<RelativeTime value={g.endsAt} />)</span>
                    </TableCell>
                    <TableCell>{g.useCount}×</TableCell>
                    <TableCell>{g.approvedBy ?? "—"}</TableCell>
                    <TableCell className="text-right">
                      {canDecide ? (
                        <Button size="sm" variant="outline" onClick={() => setRevoking(g)}>
                          Revoke
                        </Button>
                      ) : null}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </TabsContent>
      </Tabs>

      {approving ? <ApproveDialog request={approving} onClose={() => setApproving(null)} onDone={refresh} /> : null}
      {denying ? <DenyDialog request={denying} onClose={() => setDenying(null)} onDone={refresh} /> : null}
      <ConfirmDialog
        open={revoking !== null}
        onOpenChange={(open) => !open && setRevoking(null)}
        title="Revoke elevated access?"
        description={revoking ? `${revoking.principal.label} loses ${revoking.riskClass} access on ${revoking.portalSlug} within a second, on every gateway.` : undefined}
        confirmLabel="Revoke"
        onConfirm={async () => {
          await api("POST", `/elevated-grants/${revoking!.id}/revoke`);
          toast.success("Access revoked");
          await refresh();
        }}
      />
    </>
  );
}

function RequestCard({ request: r, canDecide, isFocused = false, onApprove, onDeny }: { request: StepUpRequestView; canDecide: boolean; isFocused?: boolean; onApprove: () => void; onDeny: () => void }) {
  return (
    <div id={`request-${r.id}`} className={`rounded-lg border bg-card p-4 shadow-xs ${isFocused ? "ring-2 ring-primary" : ""}`} data-testid="step-up-request" data-focused={isFocused || undefined}>
      <div className="flex flex-wrap items-start justify-between gap-3">
        <div className="space-y-1">
          <p className="text-sm">
            <span className="font-medium">{r.requester.label}</span> {r.requester.kind === "service_account" ? <Badge variant="secondary">service account</Badge> : null} asks for{" "}
            <Badge variant="outline">{r.riskClass}</Badge> on <span className="font-medium">{r.portal.name}</span>
            {r.isPerCall ? (
              <>
                {" "}
                for one call of <span className="font-mono">{r.tool}</span>
              </>
            ) : (
              <> for {r.durationMinutes} minutes</>
            )}
          </p>
          <p className="text-sm text-muted-foreground">&ldquo;{r.reason}&rdquo;</p>
          <p className="text-xs text-muted-foreground">
            Waiting{" "}
            {/* The page's shared clock: every card keeps counting, including one that arrived by polling. */}
            <WaitedTime since={r.createdAt} data-testid="waiting" /> · role {r.role.name} · expires <RelativeTime value={r.expiresAt} />
          </p>
        </div>
        {canDecide ? (
          <div className="flex gap-2">
            <Button size="sm" onClick={onApprove} disabled={!r.canDecide} title={r.cannotDecideReason ?? undefined}>
              Approve
            </Button>
            <Button size="sm" variant="outline" onClick={onDeny} disabled={!r.canDecide} title={r.cannotDecideReason ?? undefined}>
              Deny
            </Button>
          </div>
        ) : null}
      </div>
      {r.isPerCall && r.arguments ? (
        <pre className="mt-3 overflow-x-auto rounded bg-muted p-2 font-mono text-xs" data-testid="step-up-arguments">
          {JSON.stringify(r.arguments, null, 2)}
        </pre>
      ) : null}
      {!r.canDecide && r.cannotDecideReason && canDecide ? <p className="mt-2 text-xs text-muted-foreground">{r.cannotDecideReason}</p> : null}
      {r.recentActivity && r.recentActivity.length > 0 ? (
        <div className="mt-3 border-t pt-2">
          <p className="text-xs font-medium text-muted-foreground">Recent activity on this portal</p>
          <ul className="mt-1 space-y-0.5 text-xs">
            {r.recentActivity.map((a, i) => (
              <li key={i} className="flex gap-2">
                <RelativeTime value={a.time} className="w-20 shrink-0 text-muted-foreground" />
                <span className="font-mono">{a.tool ?? "—"}</span>
                <Badge variant={a.outcome === "deny" ? "destructive" : "outline"}>{a.outcome}</Badge>
                {a.outcome === "deny" && a.reasons[0] ? <span className="truncate text-muted-foreground">{a.reasons[0]}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ) : (
        <p className="mt-2 text-xs text-muted-foreground">No recent calls on this portal.</p>
      )}
    </div>
  );
}

function ApproveDialog({ request, onClose, onDone }: { request: StepUpRequestView; onClose: () => void; onDone: () => Promise<unknown> }) {
  const [minutes, setMinutes] = useState(String(request.durationMinutes));
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const options = [5, 15, 30, 60].filter((m) => m <= request.durationMinutes);
  if (!options.includes(request.durationMinutes)) options.push(request.durationMinutes);

  async function approve() {
    setBusy(true);
    setError(null);
    try {
      await api("POST", `/step-up-requests/${request.id}/approve`, { durationMinutes: Number(minutes), ...(note.trim() ? { note } : {}) });
      toast.success(`Approved: ${request.requester.label} has ${request.riskClass} access`);
      await onDone();
      onClose();
    } catch (cause) {
      setError(cause instanceof ApiError ? cause.message : "Something went wrong");
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={`Approve ${request.requester.label}?`}
      description={`${request.riskClass} access on ${request.portal.name}${request.isPerCall ? `, for one call of ${request.tool} with the arguments shown` : ""}.`}
      dismissible={!busy}
      footer={
        <>
          <Button variant="outline" onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button onClick={approve} loading={busy} data-testid="confirm-approve">
            <CheckCircle2 /> Approve
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        {request.isPerCall ? null : (
          <FormField label="For how long" htmlFor="approve-minutes" description="You may shorten what was asked, never lengthen it.">
            <Select value={minutes} onChange={(e) => setMinutes(e.target.value)} options={options.sort((a, b) => a - b).map((m) => ({ value: String(m), label: `${m} minutes` }))} />
          </FormField>
        )}
        <FormField label="Note (optional)" htmlFor="approve-note">
          <Textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={1000} />
        </FormField>
        {error ? <Alert variant="destructive" title={error} /> : null}
      </div>
    </Dialog>
  );
}

function DenyDialog({ request, onClose, onDone }: { request: StepUpRequestView; onClose: () => void; onDone: () => Promise<unknown> }) {
  const [note, setNote] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [fieldError, setFieldError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  async function deny() {
    setBusy(true);
    setError(null);
    try {
      await api("POST", `/step-up-requests/${request.id}/deny`, { note });
      toast.success("Request denied");
      await onDone();
      onClose();
    } catch (cause) {
      if (cause instanceof ApiError) {
        setFieldError(cause.fieldMap().note);
        if (!cause.fieldMap().note) setError(cause.message);
      } else setError("Something went wrong");
    } finally {
      setBusy(false);
    }
  }

  return (
    <Dialog
      open
      onOpenChange={(open) => !open && onClose()}
      title={`Deny ${request.requester.label}'s request?`}
      description="They see your note on their waiting page."
      dismissible={!busy}
      footer={
        <>
          <Button variant="outline" onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button variant="destructive" onClick={deny} loading={busy} data-testid="confirm-deny">
            Deny
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        <FormField label="Note to the requester" htmlFor="deny-note" error={fieldError} required>
          <Textarea value={note} onChange={(e) => setNote(e.target.value)} maxLength={1000} placeholder="Use the staging account for this" />
        </FormField>
        {error ? <Alert variant="destructive" title={error} /> : null}
      </div>
    </Dialog>
  );
}
