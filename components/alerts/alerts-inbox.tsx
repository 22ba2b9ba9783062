"use client";

import { useState } from "react";
import Link from "next/link";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { BellOff, CheckCheck, CircleCheck, ScrollText } from "lucide-react";
import { toast } from "sonner";

import { api, toQuery } from "@/lib/api/client";
import { alertKeys, attentionKeys } from "@/lib/api/query-keys";
import type { AlertDetail, AlertView } from "@/lib/schemas/alert";
import type { Page } from "@/lib/schemas/common";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { FormField } from "@/components/ui/form-field";
import { TextWithTimes } from "@/components/ui/local-time";
import { RelativeTime, useNow } from "@/components/ui/relative-time";
import { Select } from "@/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Textarea } from "@/components/ui/textarea";

export const SEVERITY_BADGE: Record<AlertView["severity"], BadgeVariant> = { critical: "destructive", high: "destructive", medium: "warning", low: "secondary" };
const STATUS_BADGE: Record<AlertView["status"], BadgeVariant> = { open: "destructive", acknowledged: "warning", resolved: "success" };

const STATUS_OPTIONS = [
  { value: "open", label: "Open" },
  { value: "acknowledged", label: "Acknowledged" },
  { value: "resolved", label: "Resolved" },
];
const SEVERITY_OPTIONS = [
  { value: "critical", label: "Critical" },
  { value: "high", label: "High" },
  { value: "medium", label: "Medium" },
  { value: "low", label: "Low" },
];

type Filters = { status: string; severity: string };

/**
 * The alert inbox: refreshed every few seconds, so a burst shows while it happens. Acknowledge
 * (with a note), resolve and snooze are one click each; every change is recorded in the audit trail.
 */
export function AlertsInbox({ initial, initialFilters, canAct }: { initial: Page<AlertView>; initialFilters: Filters; canAct: boolean }) {
  const [filters, setFilters] = useState<Filters>(initialFilters);
  const [acknowledging, setAcknowledging] = useState<AlertView | null>(null);
  const [detailId, setDetailId] = useState<string | null>(null);
  const queryClient = useQueryClient();
  const params = { status: filters.status || undefined, severity: filters.severity || undefined, limit: 100 };
  const isInitial = filters.status === initialFilters.status && filters.severity === initialFilters.severity;

  const alerts = useQuery({
    queryKey: alertKeys.list(params),
    queryFn: () => api<Page<AlertView>>("GET", `/alerts${toQuery(params)}`),
    initialData: isInitial ? initial : undefined,
    refetchInterval: 5_000,
  });

  const act = useMutation({
    mutationFn: ({ id, action, body }: { id: string; action: "acknowledge" | "resolve" | "snooze"; body?: unknown }) =>
      api<AlertView>("POST", `/alerts/${encodeURIComponent(id)}/${action}`, body ?? {}),
    onSuccess: (_alert, { action }) => {
      toast.success(action === "acknowledge" ? "Alert acknowledged" : action === "resolve" ? "Alert resolved" : "Alert snoozed for an hour");
      void queryClient.invalidateQueries({ queryKey: alertKeys.all });
      void queryClient.invalidateQueries({ queryKey: attentionKeys.all });
    },
    onError: (error) => toast.error(error.message),
  });

  const setFilter = (key: keyof Filters, value: string) => {
    const next = { ...filters, [key]: value };
    setFilters(next);
    const url = new URL(window.location.href);
    if (value) url.searchParams.set(key, value);
    else url.searchParams.delete(key);
    window.history.replaceState(null, "", url);
  };

  const items = alerts.data?.items ?? [];
  const now = useNow();
  return (
    <div className="space-y-4">
      <div className="flex flex-wrap gap-3">
        <Select aria-label="Status" wrapperClassName="w-44" placeholder="All statuses" options={STATUS_OPTIONS} value={filters.status} onChange={(e) => setFilter("status", e.target.value)} />
        <Select aria-label="Severity" wrapperClassName="w-44" placeholder="All severities" options={SEVERITY_OPTIONS} value={filters.severity} onChange={(e) => setFilter("severity", e.target.value)} />
      </div>
      {items.length === 0 && !alerts.isLoading ? (
        <EmptyState
          icon={<CircleCheck className="size-6" />}
          title={filters.status === "open" ? "No open alerts" : "No alerts match"}
          description="Alerts appear here the moment a rule fires: failed sign-in bursts, risky tool calls, unexpected networks, gateways going quiet, credentials about to expire."
        />
      ) : (
        <Table aria-label="Alerts">
          <TableHeader>
            <TableRow>
              <TableHead>Severity</TableHead>
              <TableHead>Alert</TableHead>
              <TableHead>Count</TableHead>
              <TableHead>First seen</TableHead>
              <TableHead>Last seen</TableHead>
              <TableHead>Status</TableHead>
              <TableHead className="text-right">Actions</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.map((a) => (
              <TableRow key={a.id} data-alert-id={a.id}>
                <TableCell>
                  <Badge variant={SEVERITY_BADGE[a.severity]}>{a.severity}</Badge>
                </TableCell>
                {/* Titles name actors, tools and addresses: they wrap here instead of running into the next column. */}
                <TableCell className="min-w-56 max-w-md whitespace-normal break-words">
                  <button type="button" className="text-left font-medium hover:underline" onClick={() => setDetailId(a.id)}>
                    <TextWithTimes text={a.title} />
                  </button>
                  <p className="text-xs text-muted-foreground">{a.ruleName}</p>
                  {a.note ? <p className="text-xs text-muted-foreground">Note: {a.note}</p> : null}
                </TableCell>
                <TableCell className="tabular-nums">{a.count}</TableCell>
                <TableCell>
                  <RelativeTime value={a.firstSeenAt} />
                </TableCell>
                <TableCell>
                  <RelativeTime value={a.lastSeenAt} />
                </TableCell>
                <TableCell className="space-x-1">
                  <Badge variant={STATUS_BADGE[a.status]}>{a.status}</Badge>
                  {a.snoozedUntil && Date.parse(a.snoozedUntil) > now ? <Badge variant="secondary">snoozed</Badge> : null}
                </TableCell>
                <TableCell>
                  <div className="flex flex-wrap justify-end gap-1">
                    <Link href={a.auditHref} className="inline-flex items-center gap-1 rounded-md px-2 py-1 text-xs hover:bg-muted" aria-label={`Events behind ${a.title}`}>
                      <ScrollText className="size-3.5" aria-hidden />
                      Events
                    </Link>
                    {canAct && a.status === "open" ? (
                      <Button size="sm" variant="outline" onClick={() => setAcknowledging(a)} aria-label={`Acknowledge ${a.title}`}>
                        <CheckCheck aria-hidden />
                        Acknowledge
                      </Button>
                    ) : null}
                    {canAct && a.status !== "resolved" ? (
                      <>
                        <Button size="sm" variant="outline" disabled={act.isPending} onClick={() => act.mutate({ id: a.id, action: "snooze", body: { minutes: 60 } })} aria-label={`Snooze ${a.title}`}>
                          <BellOff aria-hidden />
                          Snooze 1 h
                        </Button>
                        <Button size="sm" disabled={act.isPending} onClick={() => act.mutate({ id: a.id, action: "resolve" })} aria-label={`Resolve ${a.title}`}>
                          Resolve
                        </Button>
                      </>
                    ) : null}
                  </div>
                </TableCell>
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      <AcknowledgeDialog
        alert={acknowledging}
        onClose={() => setAcknowledging(null)}
        onSubmit={async (note) => {
          await act.mutateAsync({ id: acknowledging!.id, action: "acknowledge", body: note ? { note } : {} });
          setAcknowledging(null);
        }}
      />
      <AlertDetailDialog id={detailId} onClose={() => setDetailId(null)} />
    </div>
  );
}

function AcknowledgeDialog({ alert, onClose, onSubmit }: { alert: AlertView | null; onClose: () => void; onSubmit: (note: string) => Promise<void> }) {
  const [note, setNote] = useState("");
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog
      open={alert !== null}
      onOpenChange={(open) => {
        if (!open) {
          setNote("");
          onClose();
        }
      }}
      title="Acknowledge alert"
      description={alert ? <TextWithTimes text={alert.title} /> : undefined}
      footer={
        <>
          <Button variant="outline" onClick={onClose}>
            Cancel
          </Button>
          <Button
            disabled={isPending}
            onClick={async () => {
              setIsPending(true);
              try {
                await onSubmit(note.trim());
                setNote("");
              } finally {
                setIsPending(false);
              }
            }}
          >
            Acknowledge
          </Button>
        </>
      }
    >
      <FormField label="Note" htmlFor="ack-note" description="Optional: what you are doing about it. Kept with the alert and in the audit trail.">
        <Textarea id="ack-note" value={note} maxLength={2000} onChange={(e) => setNote(e.target.value)} />
      </FormField>
    </Dialog>
  );
}

function AlertDetailDialog({ id, onClose }: { id: string | null; onClose: () => void }) {
  const detail = useQuery({
    queryKey: alertKeys.detail(id ?? ""),
    queryFn: () => api<AlertDetail>("GET", `/alerts/${encodeURIComponent(id!)}`),
    enabled: id !== null,
    refetchInterval: 5_000,
  });
  const d = detail.data;
  return (
    <Dialog open={id !== null} onOpenChange={(open) => (open ? undefined : onClose())} title={d ? <TextWithTimes text={d.title} /> : "Alert"} description={d ? `${d.ruleName} · ${d.subject}` : undefined} className="max-w-2xl">
      {d ? (
        <div className="space-y-4 text-sm">
          <p>
            {d.count} occurrence{d.count === 1 ? "" : "s"}, first <RelativeTime value={d.firstSeenAt} />, last <RelativeTime value={d.lastSeenAt} />.
            {d.acknowledgedBy ? ` Acknowledged by ${d.acknowledgedBy}.` : ""}
            {d.resolvedBy ? ` Resolved by ${d.resolvedBy === "auto" ? "Portico (condition cleared)" : d.resolvedBy}.` : ""}
          </p>
          <Link href={d.auditHref} className="text-primary underline">
            Open the events in the audit log
          </Link>
          <div>
            <h3 className="mb-1 font-medium">Delivery log</h3>
            {d.deliveries.length === 0 ? (
              <p className="text-muted-foreground">Not sent anywhere: no channel takes this severity.</p>
            ) : (
              <ul className="space-y-1">
                {d.deliveries.map((x) => (
                  <li key={x.id}>
                    <Badge variant={x.status === "sent" ? "success" : x.status === "failed" ? "destructive" : "warning"}>{x.status}</Badge> {x.channel} · {x.reason} ·{" "}
                    {x.attempts} attempt{x.attempts === 1 ? "" : "s"}
                    {x.lastError ? <span className="text-muted-foreground"> · {x.lastError}</span> : null}
                  </li>
                ))}
              </ul>
            )}
          </div>
        </div>
      ) : (
        <p className="text-sm text-muted-foreground">Loading…</p>
      )}
    </Dialog>
  );
}
