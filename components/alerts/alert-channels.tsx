"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Send, Trash2 } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { alertChannelKeys } from "@/lib/api/query-keys";
import type { AlertChannelView } from "@/lib/schemas/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { FormField } from "@/components/ui/form-field";
import { RelativeTime } from "@/components/ui/relative-time";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { FormDialog, SeveritySelect, TextField, errorFor, useFormMutation } from "./form-parts";

const KIND_LABEL: Record<AlertChannelView["kind"], string> = { webhook: "Webhook (signed JSON)", slack: "Slack-compatible", email: "E-mail (SMTP)" };

/** Where alerts go: webhooks, Slack-compatible incoming webhooks, SMTP. Admins add and test them. */
export function AlertChannels({ initial, canEdit }: { initial: AlertChannelView[]; canEdit: boolean }) {
  const queryClient = useQueryClient();
  const [isAdding, setIsAdding] = useState(false);
  const [deleting, setDeleting] = useState<AlertChannelView | null>(null);
  const channels = useQuery({ queryKey: alertChannelKeys.all, queryFn: () => api<AlertChannelView[]>("GET", "/alert-channels"), initialData: initial, refetchInterval: 10_000 });
  const refresh = () => void queryClient.invalidateQueries({ queryKey: alertChannelKeys.all });
  const test = useMutation({
    mutationFn: (id: string) => api<{ ok: boolean; error: string | null }>("POST", `/alert-channels/${encodeURIComponent(id)}/test`),
    onSuccess: (result) => {
      if (result.ok) toast.success("Test alert sent");
      else toast.error(`Test failed: ${result.error}`);
      refresh();
    },
    onError: (error) => toast.error(error.message),
  });
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) => api("PATCH", `/alert-channels/${encodeURIComponent(id)}`, { enabled }),
    onSuccess: refresh,
    onError: (error) => toast.error(error.message),
  });

  return (
    <div className="space-y-3">
      {canEdit ? (
        <div className="flex justify-end">
          <Button onClick={() => setIsAdding(true)}>Add channel</Button>
        </div>
      ) : null}
      {channels.data.length === 0 ? (
        <EmptyState icon={<Send className="size-6" />} title="No channels yet" description="Alerts stay in this inbox. Add a webhook, a Slack-compatible incoming webhook or an SMTP server to be told where you already look." />
      ) : (
        <Table aria-label="Alert channels">
          <TableHeader>
            <TableRow>
              <TableHead>On</TableHead>
              <TableHead>Name</TableHead>
              <TableHead>Kind</TableHead>
              <TableHead>Target</TableHead>
              <TableHead>From severity</TableHead>
              <TableHead>Last delivery</TableHead>
              {canEdit ? <TableHead className="text-right">Actions</TableHead> : null}
            </TableRow>
          </TableHeader>
          <TableBody>
            {channels.data.map((c) => (
              <TableRow key={c.id}>
                <TableCell>
                  <Switch checked={c.enabled} disabled={!canEdit} onCheckedChange={(enabled) => toggle.mutate({ id: c.id, enabled })} aria-label={`${c.name} on`} />
                </TableCell>
                <TableCell className="font-medium">{c.name}</TableCell>
                <TableCell>{KIND_LABEL[c.kind]}</TableCell>
                <TableCell className="font-mono text-xs">{c.target}</TableCell>
                <TableCell>{c.minSeverity}</TableCell>
                <TableCell className="text-xs">
                  {c.lastDelivery ? (
                    <>
                      <Badge variant={c.lastDelivery.status === "sent" ? "success" : c.lastDelivery.status === "failed" ? "destructive" : "warning"}>{c.lastDelivery.status}</Badge>{" "}
                      <RelativeTime value={c.lastDelivery.at} />
                      {c.lastDelivery.lastError ? <p className="text-muted-foreground">{c.lastDelivery.lastError}</p> : null}
                    </>
                  ) : (
                    <span className="text-muted-foreground">Never</span>
                  )}
                </TableCell>
                {canEdit ? (
                  <TableCell>
                    <div className="flex justify-end gap-1">
                      <Button size="sm" variant="outline" disabled={test.isPending} onClick={() => test.mutate(c.id)} aria-label={`Send a test to ${c.name}`}>
                        <Send aria-hidden />
                        Send test
                      </Button>
                      <Button size="sm" variant="ghost" onClick={() => setDeleting(c)} aria-label={`Delete ${c.name}`}>
                        <Trash2 aria-hidden />
                      </Button>
                    </div>
                  </TableCell>
                ) : null}
              </TableRow>
            ))}
          </TableBody>
        </Table>
      )}
      {isAdding ? <AddChannelDialog onClose={() => setIsAdding(false)} onAdded={refresh} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => (open ? undefined : setDeleting(null))}
        title={`Delete ${deleting?.name ?? "channel"}?`}
        description="Alerts are no longer sent there; its delivery log goes with it."
        confirmLabel="Delete"
        onConfirm={async () => {
          await api("DELETE", `/alert-channels/${encodeURIComponent(deleting!.id)}`);
          refresh();
        }}
      />
    </div>
  );
}

function AddChannelDialog({ onClose, onAdded }: { onClose: () => void; onAdded: () => void }) {
  const [kind, setKind] = useState<AlertChannelView["kind"]>("webhook");
  const [f, setF] = useState({ name: "", url: "", secret: "", minSeverity: "high", host: "", port: "587", startTls: true, username: "", passwordRef: "", from: "", to: "" });
  const set = (key: keyof typeof f) => (value: string) => setF({ ...f, [key]: value });
  const { mutation: add, errors } = useFormMutation(
    () => {
      const base = { kind, name: f.name, minSeverity: f.minSeverity };
      const body =
        kind === "email"
          ? { ...base, host: f.host, port: Number(f.port), startTls: f.startTls, from: f.from, to: f.to.split(",").map((s) => s.trim()).filter(Boolean), ...(f.username ? { username: f.username } : {}), ...(f.passwordRef ? { passwordRef: f.passwordRef } : {}) }
          : { ...base, url: f.url, ...(kind === "webhook" && f.secret ? { secret: f.secret } : {}) };
      return api<AlertChannelView>("POST", "/alert-channels", body);
    },
    (channel) => {
      toast.success(`${channel.name} added`);
      onAdded();
      onClose();
    },
  );
  return (
    <FormDialog title="Add an alert channel" submitLabel="Add" onClose={onClose} onSubmit={() => add.mutate()} isPending={add.isPending}>
      <FormField label="Kind" htmlFor="channel-kind">
        <Select id="channel-kind" value={kind} onChange={(e) => setKind(e.target.value as AlertChannelView["kind"])} options={Object.entries(KIND_LABEL).map(([value, label]) => ({ value, label }))} />
      </FormField>
      <TextField id="channel-name" label="Name" value={f.name} onChange={set("name")} error={errors.name} required />
      {kind === "email" ? (
        <>
          <TextField id="channel-host" label="SMTP host" value={f.host} onChange={set("host")} error={errors.host} required />
          <TextField id="channel-port" label="Port" inputMode="numeric" value={f.port} onChange={set("port")} error={errors.port} required />
          <label className="flex items-center gap-2 text-sm">
            <Switch checked={f.startTls} onCheckedChange={(startTls) => setF({ ...f, startTls })} aria-label="Require STARTTLS" /> Require STARTTLS
          </label>
          <TextField id="channel-username" label="Username" value={f.username} onChange={set("username")} error={errors.username} />
          <TextField
            id="channel-password-ref"
            label="Password reference"
            value={f.passwordRef}
            onChange={set("passwordRef")}
            error={errors.passwordRef}
            description="env:NAME or file:/path, read when sending; the password itself is never stored."
          />
          <TextField id="channel-from" label="From" value={f.from} onChange={set("from")} error={errors.from} required />
          <TextField id="channel-to" label="To (comma-separated)" value={f.to} onChange={set("to")} error={errorFor(errors, "to")} required />
        </>
      ) : (
        <>
          <TextField id="channel-url" label={kind === "slack" ? "Incoming webhook URL" : "URL"} value={f.url} onChange={set("url")} error={errors.url} placeholder="https://" required />
          {kind === "webhook" ? (
            <TextField
              id="channel-secret"
              label="Signing secret"
              type="password"
              value={f.secret}
              onChange={set("secret")}
              error={errors.secret}
              description="Optional, 16+ characters: each body is signed with HMAC-SHA256 in the X-Portico-Signature header (t=<unix time>,v1=<hex of HMAC over “t.body”>)."
            />
          ) : null}
        </>
      )}
      <SeveritySelect id="channel-severity" label="Send alerts from severity" value={f.minSeverity} onChange={set("minSeverity")} />
    </FormDialog>
  );
}
