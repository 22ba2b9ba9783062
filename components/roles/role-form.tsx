"use client";

import { useId, useRef, useState } from "react";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Plus, Trash2, X } from "lucide-react";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { roleKeys } from "@/lib/api/query-keys";
import { riskClasses, type RiskClass } from "@/lib/schemas/common";
import { createRoleInput, principalKinds, type CreateRoleInput, type RoleView } from "@/lib/schemas/role";
import { slugify } from "@/lib/slugify";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Button, buttonVariants } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Checkbox } from "@/components/ui/checkbox";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/textarea";
import { PRINCIPAL_KIND_LABELS, WEEKDAYS } from "@/components/roles/role-summary";
import { browserTimeZone, useTimeZones } from "@/components/roles/time-zones";
import { WhatIfDialog } from "@/components/policy/what-if-dialog";

export type RolePortalOption = {
  id: string;
  slug: string;
  name: string;
  servers: { slug: string; name: string; tools: { name: string; riskClass: RiskClass }[] }[];
};

type PrincipalKind = (typeof principalKinds)[number];
type PrincipalRow = { key: string; kind: PrincipalKind; value: string };
type GrantRow = { key: string; portalId: string; serverSlug: string; toolName: string; riskClasses: RiskClass[] };
type WindowRow = { key: string; days: number[]; start: string; end: string; timeZone: string };

type FormState = {
  name: string;
  slug: string;
  description: string;
  principals: PrincipalRow[];
  grants: GrantRow[];
  stepUpRiskClasses: RiskClass[];
  perCallRiskClasses: RiskClass[];
  stepUpMaxMinutes: string;
  stepUpApprovers: string;
  timeWindows: WindowRow[];
  networks: string;
  mfaRequired: boolean;
  maxLookbackDays: string;
};

type Errors = Record<string, string>;

const RISK_LABELS: Record<RiskClass, string> = { read: "Read", write: "Write", destructive: "Destructive", financial: "Financial" };

const VALUE_PLACEHOLDER: Record<PrincipalKind, string> = {
  group: "finops-analysts",
  user: "ana@example.com",
  service_account: "ci-cost-checks",
};

function newKey(): string {
  return typeof crypto !== "undefined" && "randomUUID" in crypto ? crypto.randomUUID() : Math.random().toString(36).slice(2);
}

function toFormState(role: RoleView | undefined): FormState {
  return {
    name: role?.name ?? "",
    slug: role?.slug ?? "",
    description: role?.description ?? "",
    principals: (role?.principals ?? []).map((p, i) => ({ key: `p${i}`, ...p })),
    grants: (role?.grants ?? []).map((g, i) => ({
      key: `g${i}`,
      portalId: g.portalId,
      serverSlug: g.serverSlug ?? "",
      toolName: g.toolName ?? "",
      riskClasses: g.riskClasses,
    })),
    stepUpRiskClasses: role?.stepUpRiskClasses ?? [],
    perCallRiskClasses: role?.perCallRiskClasses ?? [],
    stepUpMaxMinutes: String(role?.stepUpMaxMinutes ?? 60),
    stepUpApprovers: (role?.stepUpApprovers ?? []).join("\n"),
    timeWindows: (role?.conditions.timeWindows ?? []).map((w, i) => ({ key: `w${i}`, ...w })),
    networks: (role?.conditions.networks ?? []).join("\n"),
    mfaRequired: role?.conditions.mfaRequired ?? false,
    maxLookbackDays: role?.conditions.maxLookbackDays?.toString() ?? "",
  };
}

/** Non-empty lines of the networks box with their 1-based line numbers, so errors can name the line. */
function networkLines(text: string) {
  return text
    .split("\n")
    .map((raw, index) => ({ text: raw.trim(), line: index + 1 }))
    .filter((l) => l.text !== "");
}

function toPayload(state: FormState): CreateRoleInput {
  const lookback = state.maxLookbackDays.trim();
  return {
    name: state.name,
    slug: state.slug,
    description: state.description,
    principals: state.principals.map(({ kind, value }) => ({ kind, value })),
    grants: state.grants.map((g) => ({
      portalId: g.portalId,
      serverSlug: g.serverSlug || null,
      toolName: g.toolName.trim() || null,
      riskClasses: riskClasses.filter((r) => g.riskClasses.includes(r)),
    })),
    stepUpRiskClasses: riskClasses.filter((r) => state.stepUpRiskClasses.includes(r)),
    perCallRiskClasses: riskClasses.filter((r) => state.perCallRiskClasses.includes(r) && state.stepUpRiskClasses.includes(r)),
    stepUpMaxMinutes: Number(state.stepUpMaxMinutes),
    stepUpApprovers: state.stepUpApprovers
      .split("\n")
      .map((a) => a.trim())
      .filter(Boolean),
    conditions: {
      timeWindows: state.timeWindows.map((w) => ({ days: [...w.days].sort((a, b) => a - b), start: w.start, end: w.end, timeZone: w.timeZone })),
      networks: networkLines(state.networks).map((l) => l.text),
      mfaRequired: state.mfaRequired,
      maxLookbackDays: lookback === "" ? null : /^\d+$/.test(lookback) ? Number(lookback) : Number.NaN,
    },
  };
}

// Where each error path is shown: zod paths such as `grants.0.riskClasses.1` or `conditions.networks.2`
// are cut down to the slot of the field (or row) that displays them.
const SLOTS = [
  /^(name|slug|description|stepUpRiskClasses|perCallRiskClasses|stepUpMaxMinutes|stepUpApprovers)\b/,
  /^principals\.\d+/,
  /^principals$/,
  /^grants\.\d+\.(portalId|serverSlug|toolName|riskClasses)\b/,
  /^grants\.\d+$/,
  /^grants$/,
  /^conditions\.timeWindows\.\d+\.(days|start|end|timeZone)\b/,
  /^conditions\.timeWindows\.\d+$/,
  /^conditions\.timeWindows$/,
  /^conditions\.networks\.\d+$/,
  /^conditions\.networks$/,
  /^conditions\.(mfaRequired|maxLookbackDays)\b/,
];

function toErrors(entries: { field: string; message: string }[]): Errors {
  const errors: Errors = {};
  for (const { field, message } of entries) {
    const slot = SLOTS.map((re) => field.match(re)?.[0]).find(Boolean) ?? "";
    errors[slot] ??= message;
  }
  return errors;
}

function FieldError({ id, message }: { id: string; message?: string }) {
  if (!message) return null;
  return (
    <p id={id} className="text-[0.8125rem] font-medium text-destructive-strong">
      {message}
    </p>
  );
}

function RiskCheckboxes({
  idPrefix,
  legend,
  value,
  onChange,
  error,
}: {
  idPrefix: string;
  legend: string;
  value: RiskClass[];
  onChange: (next: RiskClass[]) => void;
  error?: string;
}) {
  const errorId = `${idPrefix}-error`;
  return (
    <fieldset className="grid gap-2" aria-describedby={error ? errorId : undefined} aria-invalid={error ? true : undefined}>
      <legend className={cn("mb-2 text-sm font-medium", error && "text-destructive-strong")}>{legend}</legend>
      <div className="flex flex-wrap gap-x-5 gap-y-2">
        {riskClasses.map((r) => (
          <Label key={r} htmlFor={`${idPrefix}-${r}`} className="font-normal">
            <Checkbox
              id={`${idPrefix}-${r}`}
              checked={value.includes(r)}
              onChange={(e) => onChange(e.target.checked ? [...value, r] : value.filter((x) => x !== r))}
            />
            {RISK_LABELS[r]}
          </Label>
        ))}
      </div>
      <FieldError id={errorId} message={error} />
    </fieldset>
  );
}

export function RoleForm({ role, portals }: { role?: RoleView; portals: RolePortalOption[] }) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const formId = useId();
  const timeZones = useTimeZones();
  const [state, setState] = useState<FormState>(() => toFormState(role));
  const [errors, setErrors] = useState<Errors>({});
  const [isDeleteOpen, setIsDeleteOpen] = useState(false);
  const [whatIf, setWhatIf] = useState<CreateRoleInput | null>(null);
  const isSlugTouched = useRef(Boolean(role));
  const isNew = !role;

  const id = (suffix: string) => `${formId}-${suffix}`;

  const clearErrors = (prefix: string) =>
    setErrors((prev) => {
      const keys = Object.keys(prev).filter((k) => k === prefix || k.startsWith(`${prefix}.`));
      if (keys.length === 0 && !prev[""]) return prev;
      const next = { ...prev };
      for (const k of keys) delete next[k];
      delete next[""];
      return next;
    });

  const update = <K extends keyof FormState>(key: K, value: FormState[K], errorSlot: string = key) => {
    setState((s) => ({ ...s, [key]: value }));
    clearErrors(errorSlot);
  };

  const updateRow = <L extends "principals" | "grants" | "timeWindows">(
    list: L,
    index: number,
    patch: Partial<FormState[L][number]>,
    errorSlot: string,
  ) => {
    setState((s) => ({ ...s, [list]: s[list].map((row, i) => (i === index ? { ...row, ...patch } : row)) }));
    clearErrors(errorSlot);
  };

  const addRow = <L extends "principals" | "grants" | "timeWindows">(list: L, row: FormState[L][number], errorSlot: string) => {
    setState((s) => ({ ...s, [list]: [...s[list], row] }));
    clearErrors(errorSlot);
  };

  const removeRow = (list: "principals" | "grants" | "timeWindows", index: number, errorSlot: string) => {
    setState((s) => ({ ...s, [list]: s[list].filter((_, i) => i !== index) }));
    // Indices shift: errors of the remaining rows no longer point at the right place.
    clearErrors(errorSlot);
  };

  const save = useMutation({
    mutationFn: (payload: CreateRoleInput) =>
      role ? api<RoleView>("PATCH", `/roles/${role.id}`, payload) : api<RoleView>("POST", "/roles", payload),
    onSuccess: async (saved) => {
      toast.success(isNew ? `Role “${saved.name}” created` : `Role “${saved.name}” saved`);
      await queryClient.invalidateQueries({ queryKey: roleKeys.all });
      if (isNew) router.push(`/roles/${saved.id}`);
      else router.refresh();
    },
    onError: (error) => {
      if (error instanceof ApiError && error.fieldErrors.length) {
        setErrors(toErrors(error.fieldErrors));
        toast.error(error.message);
      } else {
        toast.error(error.message || "Could not save the role");
      }
    },
  });

  const remove = async () => {
    if (!role) return;
    await api("DELETE", `/roles/${role.id}`);
    toast.success(`Role “${role.name}” deleted`);
    await queryClient.invalidateQueries({ queryKey: roleKeys.all });
    router.push("/roles");
  };

  const onSubmit = (event: React.FormEvent) => {
    event.preventDefault();
    const payload = toPayload(state);
    const local: { field: string; message: string }[] = [];
    if (Number.isNaN(payload.conditions?.maxLookbackDays)) {
      local.push({ field: "conditions.maxLookbackDays", message: "Enter a whole number of days, or leave it empty" });
    }
    const parsed = createRoleInput.safeParse(payload);
    if (!parsed.success) local.push(...parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message })));
    if (local.length) {
      setErrors(toErrors(local));
      toast.error("Some fields need attention");
      return;
    }
    setErrors({});
    save.mutate(payload);
  };

  // The draft as it would be saved: checked the same way, so the what-if never runs on a broken role.
  const openWhatIf = () => {
    const parsed = createRoleInput.safeParse(toPayload(state));
    if (!parsed.success) {
      setErrors(toErrors(parsed.error.issues.map((i) => ({ field: i.path.join("."), message: i.message }))));
      toast.error("Some fields need attention");
      return;
    }
    setWhatIf(toPayload(state));
  };

  const portalById = new Map(portals.map((p) => [p.id, p]));
  const lines = networkLines(state.networks);
  const networkErrors = lines
    .map((l, i) => (errors[`conditions.networks.${i}`] ? `Line ${l.line} (${l.text}): ${errors[`conditions.networks.${i}`]}` : null))
    .filter((m): m is string => m !== null);
  const networkError = [errors["conditions.networks"], ...networkErrors].filter(Boolean).join(" · ") || undefined;
  const generalError = errors[""];

  return (
    <>
      <form onSubmit={onSubmit} noValidate className="flex flex-col gap-6">
        {generalError ? (
          <Alert variant="destructive" title="The role could not be saved">
            {generalError}
          </Alert>
        ) : null}

        <Card>
          <CardHeader>
            <CardTitle>Role</CardTitle>
            <CardDescription>A name people recognise and a stable slug for the API and the audit log.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4 md:grid-cols-2">
            <FormField label="Name" htmlFor={id("name")} required error={errors.name} className="content-start">
              <Input
                value={state.name}
                autoComplete="off"
                onChange={(e) => {
                  const name = e.target.value;
                  setState((s) => ({ ...s, name, slug: isSlugTouched.current ? s.slug : slugify(name, 40) }));
                  clearErrors("name");
                  if (!isSlugTouched.current) clearErrors("slug");
                }}
              />
            </FormField>
            <FormField label="Slug" htmlFor={id("slug")} required error={errors.slug} description="Lowercase letters, digits and dashes." className="content-start">
              <Input
                value={state.slug}
                autoComplete="off"
                spellCheck={false}
                className="font-mono"
                onChange={(e) => {
                  isSlugTouched.current = true;
                  update("slug", e.target.value);
                }}
              />
            </FormField>
            <FormField label="Description" htmlFor={id("description")} error={errors.description} className="md:col-span-2">
              <Textarea value={state.description} rows={2} onChange={(e) => update("description", e.target.value)} />
            </FormField>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Principals</CardTitle>
            <CardDescription>Who holds this role: IdP groups, users by email, or service accounts by client id.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-3">
            {state.principals.length === 0 ? <p className="text-sm text-muted-foreground">Nobody holds this role yet.</p> : null}
            {state.principals.map((p, index) => {
              const slot = `principals.${index}`;
              const errorId = id(`${p.key}-error`);
              return (
                <fieldset key={p.key} className="grid gap-1.5">
                  <legend className="sr-only">Principal {index + 1}</legend>
                  <div className="flex flex-col gap-2 sm:flex-row sm:items-center">
                    <Select
                      aria-label={`Principal ${index + 1} kind`}
                      wrapperClassName="sm:w-52 sm:shrink-0"
                      value={p.kind}
                      onChange={(e) => updateRow("principals", index, { kind: e.target.value as PrincipalKind }, slot)}
                      options={principalKinds.map((k) => ({ value: k, label: PRINCIPAL_KIND_LABELS[k] }))}
                    />
                    <Input
                      aria-label={`Principal ${index + 1} value`}
                      aria-invalid={errors[slot] ? true : undefined}
                      aria-describedby={errors[slot] ? errorId : undefined}
                      placeholder={VALUE_PLACEHOLDER[p.kind]}
                      value={p.value}
                      autoComplete="off"
                      spellCheck={false}
                      onChange={(e) => updateRow("principals", index, { value: e.target.value }, slot)}
                    />
                    <Button
                      type="button"
                      variant="ghost"
                      size="icon"
                      aria-label={`Remove principal ${index + 1}`}
                      onClick={() => removeRow("principals", index, "principals")}
                    >
                      <X aria-hidden />
                    </Button>
                  </div>
                  <FieldError id={errorId} message={errors[slot]} />
                </fieldset>
              );
            })}
            <FieldError id={id("principals-error")} message={errors.principals} />
            <div>
              <Button
                type="button"
                variant="outline"
                size="sm"
                onClick={() => addRow("principals", { key: newKey(), kind: "group", value: "" }, "principals")}
              >
                <Plus aria-hidden />
                Add principal
              </Button>
            </div>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Access grants</CardTitle>
            <CardDescription>
              What this role may use in each portal: every server, one server or a single tool, limited to risk classes. Least
              privilege: start with read.
            </CardDescription>
          </CardHeader>
          <CardContent className="grid gap-4">
            {portals.length === 0 ? (
              <Alert variant="warning" title="No portals yet">
                Grants point at a portal. <Link href="/portals" className="font-medium underline">Create a portal</Link> first.
              </Alert>
            ) : null}
            {state.grants.length === 0 ? <p className="text-sm text-muted-foreground">This role grants nothing yet.</p> : null}
            {state.grants.map((g, index) => {
              const slot = `grants.${index}`;
              const portal = portalById.get(g.portalId);
              const serverOptions = portal?.servers ?? [];
              const hasUnknownServer = g.serverSlug !== "" && !serverOptions.some((s) => s.slug === g.serverSlug);
              const toolOptions = serverOptions.find((s) => s.slug === g.serverSlug)?.tools ?? [];
              const hasUnknownTool = g.toolName !== "" && !toolOptions.some((t) => t.name === g.toolName);
              return (
                <fieldset key={g.key} className="grid gap-4 rounded-lg border p-4">
                  <legend className="px-1 text-sm font-semibold">Grant {index + 1}</legend>
                  <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
                    <FormField label="Portal" htmlFor={id(`${g.key}-portal`)} required error={errors[`${slot}.portalId`] ?? errors[slot]} className="content-start">
                      <Select
                        value={g.portalId}
                        placeholder="Choose a portal…"
                        options={portals.map((p) => ({ value: p.id, label: `${p.name} (${p.slug})` }))}
                        onChange={(e) => {
                          const next = portalById.get(e.target.value);
                          const keepsServer = next?.servers.some((s) => s.slug === g.serverSlug);
                          updateRow(
                            "grants",
                            index,
                            { portalId: e.target.value, ...(keepsServer ? {} : { serverSlug: "", toolName: "" }) },
                            slot,
                          );
                        }}
                      />
                    </FormField>
                    <FormField label="Server" htmlFor={id(`${g.key}-server`)} error={errors[`${slot}.serverSlug`]} className="content-start">
                      <Select
                        value={g.serverSlug}
                        disabled={!portal}
                        onChange={(e) =>
                          updateRow("grants", index, { serverSlug: e.target.value, toolName: "" }, slot)
                        }
                      >
                        <option value="">All servers</option>
                        {serverOptions.map((s) => (
                          <option key={s.slug} value={s.slug}>
                            {s.name} ({s.slug})
                          </option>
                        ))}
                        {hasUnknownServer ? <option value={g.serverSlug}>{g.serverSlug} (not in this portal)</option> : null}
                      </Select>
                    </FormField>
                    <FormField
                      label="Tool"
                      htmlFor={id(`${g.key}-tool`)}
                      error={errors[`${slot}.toolName`]}
                      description={
                        !g.serverSlug
                          ? "Pick a server to limit to one tool."
                          : toolOptions.length === 0
                            ? "No tools synced for this server yet: sync it under Servers to pick one."
                            : "Optional: one tool of this server."
                      }
                    >
                      <Select
                        value={g.toolName}
                        disabled={!g.serverSlug}
                        className="font-mono"
                        onChange={(e) => updateRow("grants", index, { toolName: e.target.value }, slot)}
                      >
                        <option value="">All tools</option>
                        {toolOptions.map((t) => (
                          <option key={t.name} value={t.name}>
                            {t.name} ({RISK_LABELS[t.riskClass].toLowerCase()})
                          </option>
                        ))}
                        {/* A grant saved before its tool left the server: kept, and said so. */}
                        {hasUnknownTool ? <option value={g.toolName}>{g.toolName} (no longer offered)</option> : null}
                      </Select>
                    </FormField>
                  </div>
                  <div className="flex flex-wrap items-end justify-between gap-3">
                    <RiskCheckboxes
                      idPrefix={id(`${g.key}-risk`)}
                      legend="Risk classes"
                      value={g.riskClasses}
                      error={errors[`${slot}.riskClasses`]}
                      onChange={(next) => updateRow("grants", index, { riskClasses: next }, slot)}
                    />
                    <Button type="button" variant="ghost" size="sm" onClick={() => removeRow("grants", index, "grants")}>
                      <Trash2 aria-hidden />
                      Remove grant {index + 1}
                    </Button>
                  </div>
                </fieldset>
              );
            })}
            <FieldError id={id("grants-error")} message={errors.grants} />
            <div>
              <Button
                type="button"
                variant="outline"
                size="sm"
                disabled={portals.length === 0}
                onClick={() =>
                  addRow(
                    "grants",
                    { key: newKey(), portalId: portals.length === 1 ? portals[0]!.id : "", serverSlug: "", toolName: "", riskClasses: ["read"] },
                    "grants",
                  )
                }
              >
                <Plus aria-hidden />
                Add grant
              </Button>
            </div>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Step-up</CardTitle>
            <CardDescription>
              Calls to tools of these risk classes need a manager&apos;s approval first, which grants time-limited access.
            </CardDescription>
          </CardHeader>
          <CardContent>
            <RiskCheckboxes
              idPrefix={id("stepup")}
              legend="Require step-up for"
              value={state.stepUpRiskClasses}
              error={errors.stepUpRiskClasses}
              onChange={(next) => update("stepUpRiskClasses", next)}
            />
            <div className="mt-4 grid gap-4">
              <RiskCheckboxes
                idPrefix={id("percall")}
                legend="Approve each call, with its exact arguments (instead of a time window)"
                value={state.perCallRiskClasses}
                error={errors.perCallRiskClasses}
                onChange={(next) => update("perCallRiskClasses", next)}
              />
              <FormField label="Longest window" htmlFor={id("stepup-max")} error={errors.stepUpMaxMinutes} description="Requesters pick 15, 30 or 60 minutes, up to this.">
                <Select
                  value={state.stepUpMaxMinutes}
                  onChange={(e) => update("stepUpMaxMinutes", e.target.value)}
                  options={["15", "30", "60"].map((m) => ({ value: m, label: `${m} minutes` }))}
                />
              </FormField>
              <FormField label="Approvers" htmlFor={id("stepup-approvers")} error={errors.stepUpApprovers} description="Emails or IdP groups, one per line. Empty: every approver and admin.">
                <Textarea value={state.stepUpApprovers} onChange={(e) => update("stepUpApprovers", e.target.value)} placeholder="finops-managers" />
              </FormField>
            </div>
          </CardContent>
        </Card>

        <Card>
          <CardHeader>
            <CardTitle>Conditions</CardTitle>
            <CardDescription>Every condition must hold for a call to be allowed. Leave a condition empty to not restrict by it.</CardDescription>
          </CardHeader>
          <CardContent className="grid gap-6">
            <section aria-labelledby={id("windows-title")} className="grid gap-3">
              <div>
                <h4 id={id("windows-title")} className="text-sm font-medium">
                  Time windows
                </h4>
                <p className="text-[0.8125rem] text-muted-foreground">When this role may be used. No window: any time.</p>
              </div>
              {state.timeWindows.map((w, index) => {
                const slot = `conditions.timeWindows.${index}`;
                const zoneOptions = timeZones ? (timeZones.includes(w.timeZone) ? timeZones : [w.timeZone, ...timeZones]) : [w.timeZone];
                const daysError = errors[`${slot}.days`];
                return (
                  <fieldset key={w.key} className="grid gap-3 rounded-lg border p-4">
                    <legend className="px-1 text-sm font-semibold">Time window {index + 1}</legend>
                    <div
                      role="group"
                      aria-label={`Days of time window ${index + 1}`}
                      aria-describedby={daysError ? id(`${w.key}-days-error`) : undefined}
                      className="flex flex-wrap gap-1.5"
                    >
                      {WEEKDAYS.map((d) => {
                        const isOn = w.days.includes(d.day);
                        return (
                          <Button
                            key={d.day}
                            type="button"
                            size="sm"
                            variant={isOn ? "default" : "outline"}
                            aria-pressed={isOn}
                            aria-label={d.long}
                            className="w-12"
                            onClick={() =>
                              updateRow(
                                "timeWindows",
                                index,
                                { days: isOn ? w.days.filter((x) => x !== d.day) : [...w.days, d.day] },
                                `${slot}.days`,
                              )
                            }
                          >
                            {d.short}
                          </Button>
                        );
                      })}
                    </div>
                    <FieldError id={id(`${w.key}-days-error`)} message={daysError ?? errors[slot]} />
                    <div className="grid gap-4 sm:grid-cols-[8rem_8rem_minmax(0,1fr)_auto] sm:items-start">
                      <FormField label="Start" htmlFor={id(`${w.key}-start`)} error={errors[`${slot}.start`]} className="content-start">
                        <Input type="time" value={w.start} onChange={(e) => updateRow("timeWindows", index, { start: e.target.value }, `${slot}.start`)} />
                      </FormField>
                      <FormField label="End" htmlFor={id(`${w.key}-end`)} error={errors[`${slot}.end`]} className="content-start">
                        <Input type="time" value={w.end} onChange={(e) => updateRow("timeWindows", index, { end: e.target.value }, `${slot}.end`)} />
                      </FormField>
                      <FormField label="Time zone" htmlFor={id(`${w.key}-tz`)} error={errors[`${slot}.timeZone`]} className="content-start">
                        <Select
                          value={w.timeZone}
                          options={zoneOptions.map((z) => ({ value: z, label: z.replaceAll("_", " ") }))}
                          onChange={(e) => updateRow("timeWindows", index, { timeZone: e.target.value }, `${slot}.timeZone`)}
                        />
                      </FormField>
                      <Button
                        type="button"
                        variant="ghost"
                        size="sm"
                        className="sm:mt-6"
                        onClick={() => removeRow("timeWindows", index, "conditions.timeWindows")}
                      >
                        <Trash2 aria-hidden />
                        Remove window {index + 1}
                      </Button>
                    </div>
                  </fieldset>
                );
              })}
              <FieldError id={id("windows-error")} message={errors["conditions.timeWindows"]} />
              <div>
                <Button
                  type="button"
                  variant="outline"
                  size="sm"
                  onClick={() =>
                    addRow(
                      "timeWindows",
                      { key: newKey(), days: [1, 2, 3, 4, 5], start: "08:00", end: "19:00", timeZone: browserTimeZone() },
                      "conditions.timeWindows",
                    )
                  }
                >
                  <Plus aria-hidden />
                  Add time window
                </Button>
              </div>
            </section>

            <FormField
              label="Networks"
              htmlFor={id("networks")}
              error={networkError}
              description="CIDR ranges callers must come from, one per line (e.g. 10.0.0.0/8 or 2001:db8::/32). Empty: any network."
            >
              <Textarea
                value={state.networks}
                rows={3}
                spellCheck={false}
                className="font-mono"
                placeholder={"10.20.0.0/16\n192.0.2.0/24"}
                onChange={(e) => update("networks", e.target.value, "conditions.networks")}
              />
            </FormField>

            <div className="grid gap-6 md:grid-cols-2">
              <div className="flex items-start gap-3">
                <Switch
                  id={id("mfa")}
                  checked={state.mfaRequired}
                  onCheckedChange={(checked) => update("mfaRequired", checked, "conditions.mfaRequired")}
                  aria-describedby={id("mfa-description")}
                  className="mt-0.5"
                />
                <div className="grid gap-1">
                  <Label htmlFor={id("mfa")}>MFA required</Label>
                  <p id={id("mfa-description")} className="text-[0.8125rem] text-muted-foreground">
                    Only callers who signed in with a second factor may use this role.
                  </p>
                  <FieldError id={id("mfa-error")} message={errors["conditions.mfaRequired"]} />
                </div>
              </div>
              <FormField
                label="Max look-back (days)"
                htmlFor={id("lookback")}
                error={errors["conditions.maxLookbackDays"]}
                description="How far back cost queries may reach. Empty: no limit."
              >
                <Input
                  type="number"
                  inputMode="numeric"
                  min={1}
                  max={3650}
                  step={1}
                  placeholder="No limit"
                  className="sm:w-40"
                  value={state.maxLookbackDays}
                  onChange={(e) => update("maxLookbackDays", e.target.value, "conditions.maxLookbackDays")}
                />
              </FormField>
            </div>
          </CardContent>
        </Card>

        {role ? (
          <Card className="border-destructive/30">
            <CardHeader>
              <CardTitle>Delete this role</CardTitle>
              <CardDescription>People who hold only this role lose access to its portals at the next config push.</CardDescription>
            </CardHeader>
            <CardContent>
              <Button type="button" variant="outline" className="text-destructive-strong" onClick={() => setIsDeleteOpen(true)}>
                <Trash2 aria-hidden />
                Delete role
              </Button>
            </CardContent>
          </Card>
        ) : null}

        {/* Left-aligned: toasts appear bottom-right and would cover the buttons right after a save. */}
        <div className="sticky bottom-0 z-10 -mx-4 flex flex-wrap items-center gap-2 border-t bg-background/95 px-4 py-3 backdrop-blur sm:-mx-6 sm:px-6 lg:-mx-10 lg:px-10">
          <Button type="submit" loading={save.isPending}>
            {isNew ? "Create role" : "Save"}
          </Button>
          <Button type="button" variant="outline" onClick={openWhatIf}>
            What if?
          </Button>
          <Link href="/roles" className={buttonVariants({ variant: "ghost" })}>
            Cancel
          </Link>
        </div>
      </form>

      <WhatIfDialog open={whatIf !== null} onOpenChange={(open) => !open && setWhatIf(null)} roleId={role?.id ?? null} draft={whatIf} />

      {role ? (
        <ConfirmDialog
          open={isDeleteOpen}
          onOpenChange={setIsDeleteOpen}
          title={`Delete role “${role.name}”?`}
          description="Everyone who holds only this role loses access to its portals at the next config push. The change is recorded in the audit log."
          confirmLabel="Delete role"
          onConfirm={remove}
        />
      ) : null}
    </>
  );
}
