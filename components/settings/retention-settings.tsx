"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Play, Plus, Trash2 } from "lucide-react";
import { toast } from "sonner";

import { ApiError, api } from "@/lib/api/client";
import type { LogDestinationView } from "@/lib/schemas/log-destination";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { LocalTime } from "@/components/ui/local-time";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

type RetentionClass = "payloads" | "mcp" | "auth" | "governance";
type ClassStatus = { class: RetentionClass; days: number; cutoff: string; rows: number; bytes: number; due: number; oldest: string | null };
type RetentionStatus = {
  classes: ClassStatus[];
  legacyPayloadRows: number;
  purgeRecords: number;
  lastPurge: { time: string; outcome: string; summary: string | null; actorLabel: string | null } | null;
  heldBySiem: { destination: string; deliveredUpTo: string; rows: number } | null;
};

const CLASS_LABELS: Record<RetentionClass, { label: string; setting: string; what: string }> = {
  payloads: { label: "MCP payloads", setting: "retentionPayloadDays", what: "arguments and results, cleared from events that stay" },
  mcp: { label: "MCP request metadata", setting: "retentionMcpDays", what: "who called which tool, the decision, sizes and latency" },
  auth: { label: "Sign-in and token events", setting: "retentionAuthDays", what: "sign-ins, MFA, tokens issued and refused" },
  governance: { label: "Config changes and step-up decisions", setting: "retentionGovernanceDays", what: "also alerts and the log's own verification and purge events" },
};

const retentionKey = ["audit-retention"] as const;
const destinationsKey = ["log-destinations"] as const;

const size = (bytes: number) =>
  bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KB` : bytes < 1024 ** 3 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024 ** 3).toFixed(2)} GB`;

/**
 * Retention per data class: the days each class is kept (admins edit them), the space each uses,
 * what the next purge removes, and a "Run purge now". The purge runs daily on its own.
 */
export function RetentionCard({ canWrite }: { canWrite: boolean }) {
  const queryClient = useQueryClient();
  const { data } = useQuery({ queryKey: retentionKey, queryFn: () => api<RetentionStatus>("GET", "/audit-retention") });
  const [edits, setEdits] = useState<Record<string, string>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [confirming, setConfirming] = useState(false);
  const save = useMutation({
    mutationFn: (body: Record<string, number>) => api("PATCH", "/settings", body),
    onSuccess: async () => {
      setEdits({});
      setErrors({});
      toast.success("Retention saved");
      await queryClient.invalidateQueries({ queryKey: retentionKey });
    },
    onError: (error) => {
      if (error instanceof ApiError) setErrors(error.fieldMap());
      toast.error(error.message);
    },
  });
  const purge = useMutation({
    mutationFn: () => api<{ ok: boolean; deleted: Record<string, number>; payloadsCleared: number; failure: { seq: string; detail: string } | null }>("POST", "/audit-retention/purge"),
    onSuccess: async (r) => {
      const deleted = Object.values(r.deleted).reduce((a, b) => a + b, 0);
      if (r.ok) toast.success(`Purged: ${deleted} events deleted, ${r.payloadsCleared} payloads cleared`);
      else toast.error(`Purge stopped at seq ${r.failure?.seq}: ${r.failure?.detail}`);
      await queryClient.invalidateQueries({ queryKey: retentionKey });
    },
    onError: (error) => toast.error(error.message),
  });
  if (!data) return null;
  const changed = Object.fromEntries(Object.entries(edits).map(([k, v]) => [k, Number(v)]));

  return (
    <Card className="mt-6">
      <CardHeader>
        <CardTitle>Audit retention</CardTitle>
        <CardDescription>
          How long each kind of audit data is kept. A daily purge clears payloads and deletes events past their class&apos;s retention, in small batches; each hole it leaves is covered by a signed purge record, so the chain still verifies.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        <Table aria-label="Retention by data class">
          <TableHeader>
            <TableRow>
              <TableHead>Data class</TableHead>
              <TableHead>Kept for (days)</TableHead>
              <TableHead className="text-right">Events</TableHead>
              <TableHead className="text-right">Space</TableHead>
              <TableHead className="text-right">Due for purge</TableHead>
              <TableHead>Oldest</TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {data.classes.map((c) => {
              const meta = CLASS_LABELS[c.class];
              return (
                <TableRow key={c.class}>
                  <TableCell>
                    <div className="font-medium">{meta.label}</div>
                    <div className="text-xs text-muted-foreground">{meta.what}</div>
                  </TableCell>
                  <TableCell>
                    <Input
                      aria-label={`${meta.label} retention in days`}
                      type="number"
                      min={1}
                      className="w-28"
                      disabled={!canWrite}
                      value={edits[meta.setting] ?? String(c.days)}
                      onChange={(e) => setEdits({ ...edits, [meta.setting]: e.target.value })}
                      aria-invalid={errors[meta.setting] ? true : undefined}
                      aria-describedby={errors[meta.setting] ? `retention-${c.class}-error` : undefined}
                    />
                    {errors[meta.setting] ? (
                      <p id={`retention-${c.class}-error`} className="mt-1 max-w-xs text-xs text-destructive-strong">
                        {errors[meta.setting]}
                      </p>
                    ) : null}
                  </TableCell>
                  <TableCell className="text-right tabular-nums">{c.rows.toLocaleString("en")}</TableCell>
                  <TableCell className="text-right tabular-nums">{size(c.bytes)}</TableCell>
                  <TableCell className="text-right tabular-nums">{c.due.toLocaleString("en")}</TableCell>
                  <TableCell className="text-xs">{c.oldest ? <LocalTime value={c.oldest} /> : "—"}</TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
        {data.heldBySiem ? (
          <p className="text-xs text-muted-foreground" role="status" aria-label="Deletion held for SIEM">
            {data.heldBySiem.rows.toLocaleString("en")} events past retention are kept until the SIEM destination &ldquo;{data.heldBySiem.destination}&rdquo; has received them (it has everything up to seq{" "}
            {data.heldBySiem.deliveredUpTo}); payloads are cleared meanwhile.
          </p>
        ) : null}
        {data.legacyPayloadRows > 0 ? (
          <p className="text-xs text-muted-foreground">
            {data.legacyPayloadRows.toLocaleString("en")} events written before payload digests keep their payload until the event itself is deleted: their hash covers the payload.
          </p>
        ) : null}
        <div className="flex flex-wrap items-center gap-3">
          {canWrite ? (
            <>
              <Button size="sm" disabled={Object.keys(edits).length === 0 || save.isPending} onClick={() => save.mutate(changed)}>
                Save retention
              </Button>
              <Button size="sm" variant="outline" disabled={purge.isPending} onClick={() => setConfirming(true)}>
                <Play aria-hidden />
                {purge.isPending ? "Purging…" : "Run purge now"}
              </Button>
            </>
          ) : null}
          <span className="text-xs text-muted-foreground" role="status" aria-label="Last purge">
            {data.lastPurge ? (
              <>
                Last purge <LocalTime value={data.lastPurge.time} /> by {data.lastPurge.actorLabel ?? "the schedule"}: {data.lastPurge.outcome === "success" ? data.lastPurge.summary : `stopped (${data.lastPurge.summary})`}
              </>
            ) : (
              "No purge has run yet."
            )}
            {data.purgeRecords ? ` ${data.purgeRecords} signed purge records.` : ""}
          </span>
        </div>
        <ConfirmDialog
          open={confirming}
          onOpenChange={setConfirming}
          title="Purge now?"
          description="Events past their class's retention are deleted and old payloads cleared. This cannot be undone."
          confirmLabel="Purge"
          onConfirm={async () => {
            await purge.mutateAsync();
          }}
        />
      </CardContent>
    </Card>
  );
}

const events = (n: number, capped = false) => `${n.toLocaleString("en")}${capped ? "+" : ""} ${n === 1 && !capped ? "event" : "events"}`;

/**
 * Where a destination stands. One created "from now on" starts after the log's head: until it has
 * acknowledged a batch, that seq is where delivery starts, not something it received.
 */
function deliveryWords(d: LogDestinationView): React.ReactNode {
  const behind = `${events(d.lagEvents, d.isLagCapped)} to send`;
  if (d.lastDeliveredSeq === null) {
    const start = d.nextAfterSeq === "0" ? "starts from the first event" : `starts after seq ${d.nextAfterSeq}`;
    return `Nothing delivered yet · ${start} · ${behind}`;
  }
  return (
    <>
      Last delivered seq {d.lastDeliveredSeq}
      {d.lastDeliveredAt ? (
        <>
          {" "}
          at <LocalTime value={d.lastDeliveredAt} />
        </>
      ) : null}{" "}
      · {behind}
    </>
  );
}

/** SIEM destinations with a live status line each: last delivered seq, lag, last error. */
export function LogDestinationsCard({ canWrite }: { canWrite: boolean }) {
  const queryClient = useQueryClient();
  const { data } = useQuery({ queryKey: destinationsKey, queryFn: () => api<{ items: LogDestinationView[] }>("GET", "/log-destinations"), refetchInterval: 5000 });
  const [form, setForm] = useState({ name: "", kind: "https", url: "", secret: "", startFrom: "now" });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [deleting, setDeleting] = useState<LogDestinationView | null>(null);
  const refresh = () => queryClient.invalidateQueries({ queryKey: destinationsKey });
  const create = useMutation({
    mutationFn: () => api<LogDestinationView>("POST", "/log-destinations", form),
    onSuccess: async () => {
      setForm({ name: "", kind: "https", url: "", secret: "", startFrom: "now" });
      setErrors({});
      toast.success("Destination added; delivery starts within seconds");
      await refresh();
    },
    onError: (error) => {
      if (error instanceof ApiError) setErrors(error.fieldMap());
      toast.error(error.message);
    },
  });
  const toggle = useMutation({
    mutationFn: (d: LogDestinationView) => api("PATCH", `/log-destinations/${d.id}`, { enabled: !d.enabled }),
    onSuccess: refresh,
    onError: (error) => toast.error(error.message),
  });
  const items = data?.items ?? [];

  return (
    <Card className="mt-6">
      <CardHeader>
        <CardTitle>SIEM streaming</CardTitle>
        <CardDescription>
          The audit log, in order and at least once, to an HTTPS endpoint (JSON Lines, signed with HMAC-SHA256 in <code>x-portico-signature</code>) or a Splunk HTTP Event Collector. A receiver that fails is retried with backoff from the same event.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-4">
        {items.length === 0 ? (
          <EmptyState title="No destinations" description="Add one to stream every audit event to your SIEM." />
        ) : (
          <ul aria-label="SIEM destinations" className="grid gap-2">
            {items.map((d) => (
              <li key={d.id} aria-label={d.name} className="flex flex-wrap items-center gap-3 rounded border p-3">
                <div className="grid min-w-64 flex-1 gap-1">
                  <div className="flex items-center gap-2">
                    <span className="font-medium">{d.name}</span>
                    <Badge variant="outline">{d.kind === "splunk_hec" ? "Splunk HEC" : "HTTPS"}</Badge>
                    {!d.enabled ? <Badge variant="outline">Paused</Badge> : d.lastError ? <Badge variant="destructive">Failing</Badge> : <Badge variant="success">Delivering</Badge>}
                  </div>
                  <span className="truncate text-xs text-muted-foreground">{d.url}</span>
                  <span role="status" className="text-xs">
                    {deliveryWords(d)}
                    {d.lastError ? (
                      <>
                        {" "}
                        · last error: {d.lastError}
                        {d.lastErrorAt ? (
                          <>
                            {" "}
                            (<LocalTime value={d.lastErrorAt} />), next try <LocalTime value={d.nextAttemptAt} />
                          </>
                        ) : null}
                      </>
                    ) : null}
                  </span>
                </div>
                {canWrite ? (
                  <div className="flex items-center gap-2">
                    <Switch checked={d.enabled} onCheckedChange={() => toggle.mutate(d)} aria-label={`Deliver to ${d.name}`} />
                    <Button variant="ghost" size="sm" aria-label={`Delete ${d.name}`} onClick={() => setDeleting(d)}>
                      <Trash2 aria-hidden />
                    </Button>
                  </div>
                ) : null}
              </li>
            ))}
          </ul>
        )}
        {canWrite ? (
          <form
            aria-label="Add a SIEM destination"
            className="grid gap-3 md:grid-cols-2"
            onSubmit={(e) => {
              e.preventDefault();
              create.mutate();
            }}
          >
            <div className="grid gap-1">
              <Label htmlFor="siem-name">Name</Label>
              <Input id="siem-name" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
              {errors.name ? <p className="text-xs text-destructive">{errors.name}</p> : null}
            </div>
            <div className="grid gap-1">
              <Label htmlFor="siem-kind">Format</Label>
              <Select
                id="siem-kind"
                value={form.kind}
                onChange={(e) => setForm({ ...form, kind: e.target.value })}
                options={[
                  { value: "https", label: "HTTPS, JSON Lines (HMAC-signed)" },
                  { value: "splunk_hec", label: "Splunk HTTP Event Collector" },
                ]}
              />
            </div>
            <div className="grid gap-1">
              <Label htmlFor="siem-url">URL</Label>
              <Input id="siem-url" placeholder="https://siem.example.com/ingest" value={form.url} onChange={(e) => setForm({ ...form, url: e.target.value })} />
              {errors.url ? <p className="text-xs text-destructive">{errors.url}</p> : null}
            </div>
            <div className="grid gap-1">
              <Label htmlFor="siem-secret">{form.kind === "splunk_hec" ? "HEC token" : "HMAC key"}</Label>
              <Input id="siem-secret" type="password" autoComplete="off" value={form.secret} onChange={(e) => setForm({ ...form, secret: e.target.value })} />
              {errors.secret ? <p className="text-xs text-destructive">{errors.secret}</p> : null}
            </div>
            <div className="grid gap-1">
              <Label htmlFor="siem-start">Start from</Label>
              <Select
                id="siem-start"
                value={form.startFrom}
                onChange={(e) => setForm({ ...form, startFrom: e.target.value })}
                options={[
                  { value: "now", label: "New events from now on" },
                  { value: "beginning", label: "Every stored event" },
                ]}
              />
            </div>
            <div className="flex items-end">
              <Button type="submit" size="sm" disabled={create.isPending}>
                <Plus aria-hidden />
                Add destination
              </Button>
            </div>
          </form>
        ) : null}
        <ConfirmDialog
          open={deleting !== null}
          onOpenChange={(open) => !open && setDeleting(null)}
          title={`Delete ${deleting?.name ?? "destination"}?`}
          description="Delivery stops; events already sent stay at the receiver."
          confirmLabel="Delete"
          onConfirm={async () => {
            if (!deleting) return;
            await api("DELETE", `/log-destinations/${deleting.id}`);
            setDeleting(null);
            await refresh();
          }}
        />
      </CardContent>
    </Card>
  );
}
