"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api, ApiError } from "@/lib/api/client";
import type { ExplainPrincipal } from "@/lib/schemas/policy";
import type { ExplainResult, ExplainerOptions } from "@/lib/server/policy-explainer";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { LocalTime, useHydrated } from "@/components/ui/local-time";
import { Select } from "@/components/ui/select";

type Kind = ExplainPrincipal["kind"];

const EFFECT = { allow: { label: "Allowed", variant: "success" }, deny: { label: "Denied", variant: "destructive" }, step_up: { label: "Needs step-up", variant: "warning" } } as const;

/** `2026-12-05T11:00` in the browser's zone, for a datetime-local input. */
function localNow(): string {
  const d = new Date();
  d.setMinutes(d.getMinutes() - d.getTimezoneOffset());
  return d.toISOString().slice(0, 16);
}

export function PolicyExplainer({ options }: { options: ExplainerOptions }) {
  const [kind, setKind] = useState<Kind>("user");
  const [who, setWho] = useState("");
  const [portal, setPortal] = useState(options.portals[0]?.slug ?? "");
  const [tool, setTool] = useState(options.portals[0]?.tools[0]?.exposedName ?? "");
  // Empty until hydrated: the server does not know the viewer's zone, so the browser fills in "now".
  const hydrated = useHydrated();
  const [pickedAt, setAt] = useState<string | null>(null);
  const at = pickedAt ?? (hydrated ? localNow() : "");
  const [sourceIp, setSourceIp] = useState("");
  const [mfa, setMfa] = useState(true);

  const explain = useMutation({
    mutationFn: () => {
      const list = who.split(",").map((g) => g.trim()).filter(Boolean);
      const principal: ExplainPrincipal =
        kind === "user" ? { kind, email: who.trim() } : kind === "groups" ? { kind, groups: list } : { kind, clientId: who.trim() };
      return api<ExplainResult>("POST", "/policy/explain", { principal, portal, tool, at: new Date(at).toISOString(), sourceIp: sourceIp.trim() || null, mfa });
    },
  });
  const tools = options.portals.find((p) => p.slug === portal)?.tools ?? [];
  const result = explain.data;

  if (options.version === null) return <p className="text-sm text-muted-foreground">Nothing has been published yet.</p>;

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader>
          <CardTitle>The question</CardTitle>
          <CardDescription>Asked of config version {options.version}, the one gateways run.</CardDescription>
        </CardHeader>
        <CardContent>
          <form
            className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3"
            onSubmit={(e) => {
              e.preventDefault();
              explain.mutate();
            }}
          >
            <div className="space-y-1">
              <Label htmlFor="explain-kind">Who</Label>
              <Select
                id="explain-kind"
                value={kind}
                onChange={(e) => setKind(e.target.value as Kind)}
                options={[
                  { value: "user", label: "A user (email)" },
                  { value: "groups", label: "IdP groups" },
                  { value: "service_account", label: "A service account (client id)" },
                ]}
              />
            </div>
            <div className="space-y-1">
              <Label htmlFor="explain-who">{kind === "user" ? "Email" : kind === "groups" ? "Groups, comma-separated" : "Client id"}</Label>
              <Input id="explain-who" value={who} onChange={(e) => setWho(e.target.value)} placeholder={kind === "user" ? "analyst@portico.local" : kind === "groups" ? "finops-analysts" : "sa_…"} />
            </div>
            <div className="space-y-1">
              <Label htmlFor="explain-portal">Portal</Label>
              <Select
                id="explain-portal"
                value={portal}
                onChange={(e) => {
                  setPortal(e.target.value);
                  setTool(options.portals.find((p) => p.slug === e.target.value)?.tools[0]?.exposedName ?? "");
                }}
                options={options.portals.map((p) => ({ value: p.slug, label: p.name }))}
              />
            </div>
            <div className="space-y-1">
              <Label htmlFor="explain-tool">Tool</Label>
              <Select id="explain-tool" value={tool} onChange={(e) => setTool(e.target.value)} options={tools.map((t) => ({ value: t.exposedName, label: `${t.exposedName} (${t.riskClass})` }))} />
            </div>
            <div className="space-y-1">
              <Label htmlFor="explain-at">When (your time zone)</Label>
              <Input id="explain-at" type="datetime-local" value={at} onChange={(e) => setAt(e.target.value)} />
            </div>
            <div className="space-y-1">
              <Label htmlFor="explain-ip">From IP address</Label>
              <Input id="explain-ip" value={sourceIp} onChange={(e) => setSourceIp(e.target.value)} placeholder="10.1.2.3 (optional)" />
            </div>
            <div className="flex items-center gap-2">
              <Checkbox id="explain-mfa" checked={mfa} onChange={(e) => setMfa(e.currentTarget.checked)} />
              <Label htmlFor="explain-mfa">Signed in with MFA</Label>
            </div>
            <div className="sm:col-span-2 lg:col-span-3">
              <Button type="submit" loading={explain.isPending}>
                Explain
              </Button>
            </div>
          </form>
        </CardContent>
      </Card>

      {explain.error ? (
        <Alert variant="destructive" title="Could not explain">
          {explain.error instanceof ApiError && explain.error.fieldErrors.length ? explain.error.fieldErrors.map((f) => `${f.field}: ${f.message}`).join("; ") : explain.error.message}
        </Alert>
      ) : null}

      {result ? (
        <Card aria-label="Decision">
          <CardHeader>
            <CardTitle className="flex items-center gap-2">
              <Badge variant={EFFECT[result.decision.effect].variant}>{EFFECT[result.decision.effect].label}</Badge>
              <span>
                {result.principal} → {result.tool.exposedName}
              </span>
            </CardTitle>
            <CardDescription>
              {result.tool.riskClass} tool on {result.tool.server}, at <LocalTime value={result.at} />, version {result.version}.
            </CardDescription>
          </CardHeader>
          <CardContent className="space-y-4">
            <ul className="list-disc pl-4 text-sm" aria-label="Reasons">
              {result.decision.reasons.map((r) => (
                <li key={r}>{r}</li>
              ))}
            </ul>
            <div>
              <h3 className="mb-2 text-sm font-medium">Roles</h3>
              <ul className="divide-y rounded-md border" aria-label="Roles">
                {result.roles.map((role) => (
                  <li key={role.slug} className="space-y-1 p-3" data-role={role.slug}>
                    <div className="flex flex-wrap items-center gap-2 text-sm">
                      <span className="font-medium">{role.name}</span>
                      {role.isMember ? <Badge variant="info">Member</Badge> : <Badge variant="outline">Not a member</Badge>}
                      <span className="text-muted-foreground">{role.verdict}</span>
                    </div>
                    {role.isMember && role.conditions.length > 0 ? (
                      <ul className="space-y-0.5 pl-2 text-sm" aria-label={`Conditions of ${role.name}`}>
                        {role.conditions.map((c) => (
                          <li key={c.condition} data-held={c.held}>
                            {c.held ? "✓" : "✗"} <span className="font-medium">{c.condition}</span>: {c.words}
                          </li>
                        ))}
                      </ul>
                    ) : null}
                  </li>
                ))}
              </ul>
            </div>
            <div>
              <h3 className="mb-2 text-sm font-medium">What tools/list would show ({result.visibleTools.length})</h3>
              {result.visibleTools.length === 0 ? (
                <p className="text-sm text-muted-foreground">No tools: this principal sees an empty list in this portal at that time.</p>
              ) : (
                <ul className="flex flex-wrap gap-1" aria-label="Visible tools">
                  {result.visibleTools.map((t) => (
                    <li key={t.exposedName}>
                      <Badge variant={t.effect === "allow" ? "secondary" : "warning"}>
                        {t.exposedName}
                        {t.effect === "step_up" ? " (step-up)" : ""}
                      </Badge>
                    </li>
                  ))}
                </ul>
              )}
            </div>
          </CardContent>
        </Card>
      ) : null}
    </div>
  );
}
