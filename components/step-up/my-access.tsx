"use client";

import { useState } from "react";
import Link from "next/link";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { KeyRound, ShieldCheck } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { elevatedGrantKeys, stepUpRequestKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { ElevatedGrantView, StepUpRequestView, StepUpStatus } from "@/lib/schemas/step-up";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { Button, buttonVariants } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { LocalTime } from "@/components/ui/local-time";
import { RelativeTime, TimeLeft, useClock } from "@/components/ui/relative-time";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

// As on Approvals: a manager's decision shows up here within a couple of seconds, without a reload.
const LIVE_MS = 2000;
// The request page takes the call's arguments in its link up to this length (lib/schemas/step-up-link.ts).
const LINK_ARGS_MAX = 4000;

/** What the signed-in person may ask for: each from the role the request would be filed under. */
export type MyStepUpOption = { portal: { slug: string; name: string }; riskClass: string; roleName: string; isPerCall: boolean };

const STATUS: Record<StepUpStatus, { label: string; variant: BadgeVariant }> = {
  pending: { label: "Pending", variant: "warning" },
  approved: { label: "Approved", variant: "success" },
  denied: { label: "Denied", variant: "destructive" },
  expired: { label: "Expired", variant: "secondary" },
  withdrawn: { label: "Withdrawn", variant: "outline" },
};

const myRequestsQuery = "/step-up-requests?mine=1&limit=100";
const myGrantsQuery = "/elevated-grants?mine=1&limit=100";

/**
 * The signed-in person's own step-up: the elevated access they hold now with a countdown, and
 * every request they filed with its state and decision, live. Only their own: both lists are read
 * with `mine=1`, which the data layer scopes to the caller whatever their role.
 */
export function MyAccess({ initialRequests, initialGrants }: { initialRequests: Page<StepUpRequestView>; initialGrants: Page<ElevatedGrantView> }) {
  const queryClient = useQueryClient();
  const [withdrawing, setWithdrawing] = useState<StepUpRequestView | null>(null);

  const requests = useQuery({
    queryKey: stepUpRequestKeys.list({ mine: true }),
    queryFn: () => api<Page<StepUpRequestView>>("GET", myRequestsQuery),
    initialData: initialRequests,
    refetchInterval: LIVE_MS,
  });
  const grants = useQuery({
    queryKey: elevatedGrantKeys.list({ mine: true }),
    queryFn: () => api<Page<ElevatedGrantView>>("GET", myGrantsQuery),
    initialData: initialGrants,
    refetchInterval: LIVE_MS,
  });

  const refresh = () => Promise.all([queryClient.invalidateQueries({ queryKey: stepUpRequestKeys.all }), queryClient.invalidateQueries({ queryKey: elevatedGrantKeys.all })]);

  const all = requests.data?.items ?? [];
  const grantOf = new Map((grants.data?.items ?? []).map((g) => [g.requestId, g]));
  // A grant whose end passed between two polls reads as ended at once, not up to two seconds later.
  const activeIds = useClock((now) =>
    (grants.data?.items ?? [])
      .filter((g) => g.status === "active" && Date.parse(g.endsAt) > now)
      .map((g) => g.id)
      .join(" "),
  );
  const active = (grants.data?.items ?? []).filter((g) => activeIds.split(" ").includes(g.id));
  const portalName = new Map(all.map((r) => [r.portal.slug, r.portal.name]));

  return (
    <>
      {requests.error ? <Alert variant="destructive" title="Could not load your requests">{requests.error.message}</Alert> : null}

      {all.length === 0 && active.length === 0 ? (
        <EmptyState
          icon={<ShieldCheck />}
          title="You have not asked for elevated access"
          description={
            <>
              Some tools (writes, deletions, spending) need a manager&apos;s approval for a limited time: that is step-up. When your MCP client says a tool needs approval,
              follow its link, or use Request elevated access above. What you ask for, the manager&apos;s decision and how long the access lasts show up here.
            </>
          }
          data-testid="my-access-empty"
        />
      ) : (
        <div className="space-y-8">
          <section aria-labelledby="my-active-heading" className="space-y-3">
            <h2 id="my-active-heading" className="text-base font-semibold">
              Elevated access you hold now {active.length ? <Badge variant="info">{active.length}</Badge> : null}
            </h2>
            {active.length === 0 ? (
              <p className="text-sm text-muted-foreground" data-testid="no-active-grants">
                None right now. An approved request shows here until its time runs out or a manager revokes it.
              </p>
            ) : (
              <ul className="grid gap-3 sm:grid-cols-2">
                {active.map((g) => (
                  <li key={g.id} className="rounded-lg border bg-card p-4 shadow-xs" data-testid="my-grant">
                    <p className="text-sm">
                      <Badge variant="outline">{g.riskClass}</Badge> on <span className="font-medium">{portalName.get(g.portalSlug) ?? g.portalSlug}</span>
                      {g.isPerCall ? (
                        <>
                          {" "}
                          for one call of <span className="font-mono">{g.tool}</span>
                        </>
                      ) : null}
                    </p>
                    <p className="mt-2 text-2xl font-semibold tabular-nums">
                      <TimeLeft until={g.endsAt} data-testid="time-left" />
                    </p>
                    <p className="text-xs text-muted-foreground">
                      Until <LocalTime value={g.endsAt} shape="time" /> · approved by {g.approvedBy ?? "—"} · used {g.useCount}×
                    </p>
                  </li>
                ))}
              </ul>
            )}
          </section>

          <section aria-labelledby="my-requests-heading" className="space-y-3">
            <h2 id="my-requests-heading" className="text-base font-semibold">
              Your requests
            </h2>
            <Table data-testid="my-requests">
              <TableHeader>
                <TableRow>
                  <TableHead>Asked</TableHead>
                  <TableHead>Portal</TableHead>
                  <TableHead>Access</TableHead>
                  <TableHead>Reason</TableHead>
                  <TableHead>Status</TableHead>
                  <TableHead>Decision</TableHead>
                  <TableHead />
                </TableRow>
              </TableHeader>
              <TableBody>
                {all.map((r) => (
                  <TableRow key={r.id} data-testid="my-request" data-status={r.status} className="align-top">
                    <TableCell className="whitespace-nowrap">
                      <LocalTime value={r.createdAt} />
                    </TableCell>
                    <TableCell>{r.portal.name}</TableCell>
                    <TableCell>
                      <Badge variant="outline">{r.riskClass}</Badge>{" "}
                      <span className="text-xs text-muted-foreground">{r.isPerCall ? <>one call: <span className="font-mono">{r.tool}</span></> : <>{r.durationMinutes} min{r.tool ? <> · <span className="font-mono">{r.tool}</span></> : null}</>}</span>
                    </TableCell>
                    <TableCell className="max-w-xs text-sm whitespace-normal">{r.reason}</TableCell>
                    <TableCell>
                      <Badge variant={STATUS[r.status].variant}>{STATUS[r.status].label}</Badge>
                    </TableCell>
                    <TableCell className="max-w-xs text-sm whitespace-normal">
                      <Decision request={r} grant={grantOf.get(r.id) ?? null} />
                    </TableCell>
                    <TableCell className="text-right whitespace-nowrap">
                      {r.status === "pending" ? (
                        <div className="flex justify-end gap-2">
                          <Link href={waitingPageHref(r)} className={buttonVariants({ variant: "outline", size: "sm" })}>
                            Open
                          </Link>
                          <Button size="sm" variant="outline" onClick={() => setWithdrawing(r)}>
                            Withdraw
                          </Button>
                        </div>
                      ) : null}
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
            {requests.data?.nextCursor ? <p className="text-xs text-muted-foreground">Showing your latest 100 requests; older ones are in the audit log.</p> : null}
          </section>
        </div>
      )}

      <ConfirmDialog
        open={withdrawing !== null}
        onOpenChange={(open) => !open && setWithdrawing(null)}
        title="Withdraw this request?"
        description={withdrawing ? `Your request for ${withdrawing.riskClass} access on ${withdrawing.portal.name} leaves the managers' queue. You can ask again later.` : undefined}
        confirmLabel="Withdraw"
        onConfirm={async () => {
          await api("POST", `/step-up-requests/${encodeURIComponent(withdrawing!.id)}/withdraw`, {});
          toast.success("Request withdrawn");
          await refresh();
        }}
      />
    </>
  );
}

/** Who decided and what they said, or for a pending request how long it still waits; for an approval, how long the access lasts. */
function Decision({ request: r, grant }: { request: StepUpRequestView; grant: ElevatedGrantView | null }) {
  if (r.status === "pending") {
    return (
      <span className="text-muted-foreground">
        Waiting for a manager; expires <RelativeTime value={r.expiresAt} />
      </span>
    );
  }
  if (r.status === "expired") return <span className="text-muted-foreground">No manager decided in time.</span>;
  if (r.status === "withdrawn") {
    return <span className="text-muted-foreground">You withdrew it{r.decidedAt ? <> at <LocalTime value={r.decidedAt} /></> : null}.</span>;
  }
  return (
    <div className="space-y-0.5">
      <p>
        {r.status === "approved" ? "Approved" : "Denied"} by {r.decidedBy ?? "—"}
        {r.decidedAt ? (
          <>
            {" "}
            at <LocalTime value={r.decidedAt} />
          </>
        ) : null}
      </p>
      {r.decisionNote ? <p className="text-muted-foreground" data-testid="decision-note">&ldquo;{r.decisionNote}&rdquo;</p> : null}
      {r.status === "approved" && grant ? <GrantState grant={grant} /> : null}
    </div>
  );
}

function GrantState({ grant: g }: { grant: ElevatedGrantView }) {
  if (g.status === "revoked") return <p className="text-xs text-muted-foreground">Revoked by {g.revokedBy ?? "a manager"}{g.revokedAt ? <> at <LocalTime value={g.revokedAt} /></> : null}</p>;
  if (g.status === "used") return <p className="text-xs text-muted-foreground">Used for its one call</p>;
  return (
    <p className="text-xs text-muted-foreground">
      Until <LocalTime value={g.endsAt} shape="time" /> (<TimeLeft until={g.endsAt} ended="ended" />)
    </p>
  );
}

/** The request page for this request, where it is filed and waited on; it finds the pending request from the portal and risk class. */
function waitingPageHref(r: StepUpRequestView): string {
  const query = new URLSearchParams({ portal: r.portal.slug, risk: r.riskClass });
  if (r.server) query.set("server", r.server);
  if (r.tool) query.set("tool", r.tool);
  const args = r.isPerCall && r.arguments ? JSON.stringify(r.arguments) : null;
  if (args && args.length <= LINK_ARGS_MAX) query.set("args", args);
  query.set("request", r.id);
  return `/step-up/new?${query}`;
}

/** "Request elevated access": a dialog of what the person may ask for, each leading to the request page. */
export function RequestAccessButton({ options }: { options: MyStepUpOption[] }) {
  const [isOpen, setIsOpen] = useState(false);
  return (
    <>
      <Button onClick={() => setIsOpen(true)}>
        <KeyRound /> Request elevated access
      </Button>
      <AskDialog open={isOpen} onClose={() => setIsOpen(false)} options={options} />
    </>
  );
}

function AskDialog({ open, onClose, options }: { open: boolean; onClose: () => void; options: MyStepUpOption[] }) {
  const windows = options.filter((o) => !o.isPerCall);
  const perCall = options.filter((o) => o.isPerCall);
  return (
    <Dialog
      open={open}
      onOpenChange={(next) => !next && onClose()}
      title="Request elevated access"
      description="Pick what you need. A manager approves it for a limited time; the request, the decision and every call made with it are audited."
      footer={
        <Button variant="outline" onClick={onClose}>
          Close
        </Button>
      }
    >
      {options.length === 0 ? (
        <Alert variant="info" title="None of your roles lets you ask for elevated access" data-testid="no-step-up-options">
          Your tools work without approval, or not at all. Ask an admin if you need more.
        </Alert>
      ) : (
        <div className="space-y-3">
          {windows.length ? (
            <ul className="divide-y rounded-lg border" data-testid="step-up-options">
              {windows.map((o) => (
                <li key={`${o.portal.slug}/${o.riskClass}`}>
                  <Link
                    href={`/step-up/new?${new URLSearchParams({ portal: o.portal.slug, risk: o.riskClass })}`}
                    className={cn("flex items-center justify-between gap-3 px-3 py-2 text-sm hover:bg-muted focus-visible:bg-muted focus-visible:outline-none")}
                  >
                    <span>
                      <Badge variant="outline">{o.riskClass}</Badge> on <span className="font-medium">{o.portal.name}</span>
                    </span>
                    <span className="text-xs text-muted-foreground">role {o.roleName}</span>
                  </Link>
                </li>
              ))}
            </ul>
          ) : null}
          {perCall.length ? (
            <p className="text-xs text-muted-foreground">
              Approved one call at a time, with the call&apos;s exact arguments: {perCall.map((o) => `${o.riskClass} on ${o.portal.name}`).join(", ")}. Make the call from your MCP client
              and follow the link it shows.
            </p>
          ) : null}
        </div>
      )}
    </Dialog>
  );
}
