"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { ApiError, api } from "@/lib/api/client";
import { alertRuleKeys } from "@/lib/api/query-keys";
import type { AlertRuleView } from "@/lib/schemas/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { SEVERITY_BADGE } from "./alerts-inbox";

const PARAM_LABELS: Record<string, string> = {
  threshold: "Threshold (events)",
  windowMinutes: "Window (minutes)",
  by: "Counted per",
  riskClasses: "Risk classes (comma-separated)",
  cidrs: "Expected networks (CIDRs, comma-separated)",
  newIpDays: "New address after (days, 0 = off)",
  days: "Days",
  minutes: "Minutes",
};

export function describeParams(params: Record<string, unknown>): string {
  return Object.entries(params)
    .map(([k, v]) => `${(PARAM_LABELS[k] ?? k).replace(/ \(.*\)$/, "").toLowerCase()}: ${Array.isArray(v) ? v.join(", ") || "none" : String(v)}`)
    .join(" · ");
}

/** The rules as data: admins toggle them and change thresholds; everyone with alert access sees them. */
export function AlertRules({ initial, canEdit }: { initial: AlertRuleView[]; canEdit: boolean }) {
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState<AlertRuleView | null>(null);
  const rules = useQuery({ queryKey: alertRuleKeys.all, queryFn: () => api<AlertRuleView[]>("GET", "/alert-rules"), initialData: initial });
  const toggle = useMutation({
    mutationFn: ({ id, enabled }: { id: string; enabled: boolean }) => api<AlertRuleView>("PATCH", `/alert-rules/${encodeURIComponent(id)}`, { enabled }),
    onSuccess: (rule) => {
      toast.success(`${rule.name} ${rule.enabled ? "on" : "off"}`);
      void queryClient.invalidateQueries({ queryKey: alertRuleKeys.all });
    },
    onError: (error) => toast.error(error.message),
  });

  return (
    <>
      <Table aria-label="Alert rules">
        <TableHeader>
          <TableRow>
            <TableHead>On</TableHead>
            <TableHead>Rule</TableHead>
            <TableHead>Severity</TableHead>
            <TableHead>Settings</TableHead>
            <TableHead>Open</TableHead>
            {canEdit ? <TableHead className="text-right">Edit</TableHead> : null}
          </TableRow>
        </TableHeader>
        <TableBody>
          {rules.data.map((r) => (
            <TableRow key={r.id}>
              <TableCell>
                <Switch checked={r.enabled} disabled={!canEdit || toggle.isPending} onCheckedChange={(enabled) => toggle.mutate({ id: r.id, enabled })} aria-label={`${r.name} on`} />
              </TableCell>
              <TableCell>
                <p className="font-medium">{r.name}</p>
                <p className="text-xs text-muted-foreground">{r.description}</p>
              </TableCell>
              <TableCell>
                <Badge variant={SEVERITY_BADGE[r.severity]}>{r.severity}</Badge>
              </TableCell>
              <TableCell className="max-w-xs text-xs text-muted-foreground">
                {describeParams(r.params) || "—"}
                {Object.keys(r.scope).length ? ` · scope ${Object.entries(r.scope).map(([k, v]) => `${k}=${v}`).join(", ")}` : ""}
              </TableCell>
              <TableCell>{r.openAlerts}</TableCell>
              {canEdit ? (
                <TableCell className="text-right">
                  <Button size="sm" variant="outline" onClick={() => setEditing(r)} aria-label={`Edit ${r.name}`}>
                    Edit
                  </Button>
                </TableCell>
              ) : null}
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {editing ? <EditRuleDialog key={editing.id} rule={editing} onClose={() => setEditing(null)} /> : null}
    </>
  );
}

function toInput(value: unknown): string {
  return Array.isArray(value) ? value.join(", ") : String(value ?? "");
}

function fromInput(original: unknown, text: string): unknown {
  if (Array.isArray(original)) return text.split(",").map((s) => s.trim()).filter(Boolean);
  if (typeof original === "number") return text.trim() === "" ? null : Number(text);
  return text.trim();
}

function EditRuleDialog({ rule, onClose }: { rule: AlertRuleView; onClose: () => void }) {
  const queryClient = useQueryClient();
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(Object.entries(rule.params).map(([k, v]) => [k, toInput(v)])));
  const [severity, setSeverity] = useState<string>(rule.severity);
  const [throttle, setThrottle] = useState(String(rule.throttleMinutes));
  const [portal, setPortal] = useState(rule.scope.portal ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const save = useMutation({
    mutationFn: () =>
      api<AlertRuleView>("PATCH", `/alert-rules/${encodeURIComponent(rule.id)}`, {
        severity,
        throttleMinutes: Number(throttle),
        params: Object.fromEntries(Object.entries(values).map(([k, v]) => [k, fromInput(rule.params[k], v)])),
        scope: portal.trim() ? { ...rule.scope, portal: portal.trim() } : Object.fromEntries(Object.entries(rule.scope).filter(([k]) => k !== "portal")),
      }),
    onSuccess: () => {
      toast.success("Rule saved");
      void queryClient.invalidateQueries({ queryKey: alertRuleKeys.all });
      onClose();
    },
    onError: (error) => {
      if (error instanceof ApiError) setErrors(error.fieldMap());
      toast.error(error.message);
    },
  });
  return (
    <Dialog
      open
      onOpenChange={(open) => (open ? undefined : onClose())}
      title={`Edit ${rule.name}`}
      description={rule.description}
      footer={
        <>
          <Button variant="outline" onClick={onClose}>
            Cancel
          </Button>
          <Button disabled={save.isPending} onClick={() => save.mutate()}>
            Save
          </Button>
        </>
      }
    >
      <div className="grid gap-3">
        {Object.keys(rule.params).map((key) => (
          <FormField key={key} label={PARAM_LABELS[key] ?? key} htmlFor={`param-${key}`} error={errors[`params.${key}`] ?? Object.entries(errors).find(([f]) => f.startsWith(`params.${key}.`))?.[1]}>
            <Input id={`param-${key}`} value={values[key] ?? ""} onChange={(e) => setValues({ ...values, [key]: e.target.value })} />
          </FormField>
        ))}
        <FormField label="Severity" htmlFor="rule-severity" error={errors.severity}>
          <Select id="rule-severity" value={severity} onChange={(e) => setSeverity(e.target.value)} options={["low", "medium", "high", "critical"].map((v) => ({ value: v, label: v }))} />
        </FormField>
        <FormField label="Only for portal (slug)" htmlFor="rule-portal" error={errors["scope.portal"]} description="Empty: every portal.">
          <Input id="rule-portal" value={portal} onChange={(e) => setPortal(e.target.value)} />
        </FormField>
        <FormField label="Notify again at most every (minutes)" htmlFor="rule-throttle" error={errors.throttleMinutes}>
          <Input id="rule-throttle" inputMode="numeric" value={throttle} onChange={(e) => setThrottle(e.target.value)} />
        </FormField>
      </div>
    </Dialog>
  );
}
