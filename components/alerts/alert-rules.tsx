"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Trash2 } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { alertRuleKeys } from "@/lib/api/query-keys";
import type { AlertRuleView } from "@/lib/schemas/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { FormField } from "@/components/ui/form-field";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { DETECTOR_DEFAULTS, DETECTOR_LABELS, detectors, type Detector } from "@/lib/alerts/rules";
import { SEVERITY_BADGE } from "./alerts-inbox";
import { FormDialog, SeveritySelect, TextField, errorFor, useFormMutation } from "./form-parts";

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
  const [isCreating, setIsCreating] = useState(false);
  const [deleting, setDeleting] = useState<AlertRuleView | null>(null);
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
    <div className="space-y-3">
      {canEdit ? (
        <div className="flex justify-end">
          <Button onClick={() => setIsCreating(true)}>New rule</Button>
        </div>
      ) : null}
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
                <TableCell>
                  <div className="flex justify-end gap-1">
                    <Button size="sm" variant="outline" onClick={() => setEditing(r)} aria-label={`Edit ${r.name}`}>
                      Edit
                    </Button>
                    {r.isBuiltIn ? null : (
                      <Button size="sm" variant="ghost" onClick={() => setDeleting(r)} aria-label={`Delete ${r.name}`}>
                        <Trash2 aria-hidden />
                      </Button>
                    )}
                  </div>
                </TableCell>
              ) : null}
            </TableRow>
          ))}
        </TableBody>
      </Table>
      {editing ? <EditRuleDialog key={editing.id} rule={editing} onClose={() => setEditing(null)} /> : null}
      {isCreating ? <NewRuleDialog onClose={() => setIsCreating(false)} /> : null}
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => (open ? undefined : setDeleting(null))}
        title={`Delete ${deleting?.name ?? "rule"}?`}
        description="It stops evaluating now. Its resolved alerts go with it; the audit log keeps what happened."
        confirmLabel="Delete"
        onConfirm={async () => {
          await api("DELETE", `/alert-rules/${encodeURIComponent(deleting!.id)}`);
          void queryClient.invalidateQueries({ queryKey: alertRuleKeys.all });
        }}
      />
    </div>
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

const SCOPE_FIELDS = [
  { key: "portal", label: "Only for portal (slug)" },
  { key: "server", label: "Only for server (slug)" },
  { key: "tool", label: "Only for tool (upstream name)" },
  { key: "role", label: "Only for role (slug)" },
  { key: "actor", label: "Only for actor (email, client id or user id)" },
] as const;
type ScopeKey = (typeof SCOPE_FIELDS)[number]["key"];

type RuleDraft = { params: Record<string, string>; severity: string; throttle: string; scope: Record<ScopeKey, string> };

const draftOf = (params: Record<string, unknown>, severity: string, throttle: number, scope: Record<string, string>): RuleDraft => ({
  params: Object.fromEntries(Object.entries(params).map(([k, v]) => [k, toInput(v)])),
  severity,
  throttle: String(throttle),
  scope: Object.fromEntries(SCOPE_FIELDS.map(({ key }) => [key, scope[key] ?? ""])) as Record<ScopeKey, string>,
});

/** The request body's shared part: parameters typed like the detector's defaults, scope without empty fields. */
const bodyOf = (draft: RuleDraft, typed: Record<string, unknown>) => ({
  severity: draft.severity,
  throttleMinutes: Number(draft.throttle),
  params: Object.fromEntries(Object.entries(draft.params).map(([k, v]) => [k, fromInput(typed[k], v)])),
  scope: Object.fromEntries(Object.entries(draft.scope).filter(([, v]) => v.trim()).map(([k, v]) => [k, v.trim()])),
});

/** Parameters, severity, scope and throttle: the fields a new rule and an edited one share. */
function RuleFields({ draft, onChange, errors }: { draft: RuleDraft; onChange: (draft: RuleDraft) => void; errors: Record<string, string> }) {
  return (
    <>
      {Object.keys(draft.params).map((key) =>
        key === "by" ? (
          <FormField key={key} label={PARAM_LABELS[key] ?? key} htmlFor={`param-${key}`} error={errorFor(errors, `params.${key}`)}>
            <Select id={`param-${key}`} value={draft.params[key]} onChange={(e) => onChange({ ...draft, params: { ...draft.params, [key]: e.target.value } })} options={[{ value: "account", label: "account" }, { value: "ip", label: "source address" }]} />
          </FormField>
        ) : (
          <TextField key={key} id={`param-${key}`} label={PARAM_LABELS[key] ?? key} value={draft.params[key] ?? ""} onChange={(v) => onChange({ ...draft, params: { ...draft.params, [key]: v } })} error={errorFor(errors, `params.${key}`)} />
        ),
      )}
      <SeveritySelect id="rule-severity" label="Severity" value={draft.severity} onChange={(severity) => onChange({ ...draft, severity })} error={errors.severity} />
      {SCOPE_FIELDS.map(({ key, label }) => (
        <TextField
          key={key}
          id={`rule-scope-${key}`}
          label={label}
          value={draft.scope[key]}
          onChange={(v) => onChange({ ...draft, scope: { ...draft.scope, [key]: v } })}
          error={errorFor(errors, `scope.${key}`) ?? (key === "portal" ? errors.scope : undefined)}
          description={key === "portal" ? "Empty scope fields: everything." : undefined}
        />
      ))}
      <TextField id="rule-throttle" label="Notify again at most every (minutes)" inputMode="numeric" value={draft.throttle} onChange={(throttle) => onChange({ ...draft, throttle })} error={errors.throttleMinutes} />
    </>
  );
}

function useRuleSave<T>(fn: () => Promise<T>, done: string, onClose: () => void) {
  const queryClient = useQueryClient();
  return useFormMutation(fn, () => {
    toast.success(done);
    void queryClient.invalidateQueries({ queryKey: alertRuleKeys.all });
    onClose();
  });
}

function EditRuleDialog({ rule, onClose }: { rule: AlertRuleView; onClose: () => void }) {
  const [draft, setDraft] = useState(() => draftOf(rule.params, rule.severity, rule.throttleMinutes, rule.scope));
  const { mutation: save, errors } = useRuleSave(() => api<AlertRuleView>("PATCH", `/alert-rules/${encodeURIComponent(rule.id)}`, bodyOf(draft, rule.params)), "Rule saved", onClose);
  return (
    <FormDialog title={`Edit ${rule.name}`} description={rule.description} onClose={onClose} onSubmit={() => save.mutate()} isPending={save.isPending}>
      <RuleFields draft={draft} onChange={setDraft} errors={errors} />
    </FormDialog>
  );
}

function NewRuleDialog({ onClose }: { onClose: () => void }) {
  const [detector, setDetector] = useState<Detector>("risky_tool");
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [draft, setDraft] = useState(() => draftOf(DETECTOR_DEFAULTS.risky_tool, "medium", 15, {}));
  const { mutation: create, errors } = useRuleSave(
    () => api<AlertRuleView>("POST", "/alert-rules", { detector, name, description: description || undefined, ...bodyOf(draft, DETECTOR_DEFAULTS[detector]) }),
    "Rule created",
    onClose,
  );
  return (
    <FormDialog title="New alert rule" description="A rule of one of the kinds the engine evaluates, with its own settings and scope." onClose={onClose} onSubmit={() => create.mutate()} isPending={create.isPending}>
      <FormField label="Kind" htmlFor="rule-detector" error={errors.detector}>
        <Select
          id="rule-detector"
          value={detector}
          onChange={(e) => {
            const next = e.target.value as Detector;
            setDetector(next);
            setDraft({ ...draft, params: draftOf(DETECTOR_DEFAULTS[next], draft.severity, 15, {}).params });
          }}
          options={detectors.map((d) => ({ value: d, label: DETECTOR_LABELS[d] }))}
        />
      </FormField>
      <TextField id="rule-name" label="Name" value={name} onChange={setName} error={errors.name} />
      <TextField id="rule-description" label="Description" value={description} onChange={setDescription} error={errors.description} />
      <RuleFields draft={draft} onChange={setDraft} errors={errors} />
    </FormDialog>
  );
}
