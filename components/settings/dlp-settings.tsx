"use client";

import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Plus, Trash2 } from "lucide-react";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Textarea } from "@/components/ui/textarea";

type Pattern = { id: string; name: string; regex: string };
type PortalDlp = { actions: Record<string, "redact" | "block" | "flag">; capture: "off" | "metadata" | "full" };
type DlpSettings = { patterns: Pattern[]; portals: Record<string, PortalDlp>; detectors: Array<{ id: string; label: string }> };
type TestResult = { matches: Array<{ detector: string; text: string; start: number }>; redacted: string };

const dlpKey = ["settings", "dlp"] as const;
const ACTIONS = [
  { value: "redact", label: "Redact in the record" },
  { value: "flag", label: "Flag only" },
  { value: "block", label: "Block the call" },
];
const CAPTURE = [
  { value: "full", label: "Full (redacted payloads)" },
  { value: "metadata", label: "Metadata only" },
  { value: "off", label: "Off" },
];

/**
 * DLP in Settings: admin patterns (RE2 syntax) with a test box, and per portal the action of each
 * detector and the payload capture mode. Saved settings reach gateways with the next config version.
 */
export function DlpSettingsCard({ canWrite }: { canWrite: boolean }) {
  const queryClient = useQueryClient();
  const { data } = useQuery({ queryKey: dlpKey, queryFn: () => api<DlpSettings>("GET", "/settings/dlp") });
  const portalList = useQuery({ queryKey: portalKeys.list({ dlp: 1 }), queryFn: () => api<Page<{ slug: string }>>("GET", "/portals?limit=100") });
  const portals = portalList.data?.items.map((p) => p.slug) ?? [];
  const [patterns, setPatterns] = useState<Pattern[] | null>(null);
  const [picked, setPortal] = useState<string | null>(null);
  const portal = picked ?? portals[0] ?? "";
  const shownPatterns = patterns ?? data?.patterns ?? [];
  const [sample, setSample] = useState("Card 4111 1111 1111 1111, contact alice@example.com");
  const [result, setResult] = useState<TestResult | null>(null);
  // Why the API refused the patterns (`patterns.0.regex` → the RE2 error), shown on the field: a toast
  // alone said only "A DLP pattern is not valid". Cleared when the patterns are edited.
  const [patternErrors, setPatternErrors] = useState<{ fields: Record<string, string>; message: string } | null>(null);
  const refused = (error: Error) => {
    const fields = error instanceof ApiError ? error.fieldMap() : {};
    setPatternErrors({ fields, message: error.message });
    const reasons = Object.values(fields);
    toast.error(reasons.length ? `${error.message}: ${reasons[0]}` : error.message);
  };
  const save = useMutation({
    mutationFn: (body: Partial<Pick<DlpSettings, "patterns" | "portals">>) => api<DlpSettings>("PUT", "/settings/dlp", body),
    onSuccess: (next) => {
      queryClient.setQueryData(dlpKey, next);
      setPatterns(null);
      setPatternErrors(null);
      toast.success("DLP settings saved; gateways get them with the next config version");
    },
    onError: refused,
  });
  const test = useMutation({
    mutationFn: () => api<TestResult>("POST", "/settings/dlp/test", { text: sample, patterns: shownPatterns }),
    onMutate: () => setResult(null),
    onSuccess: (next) => {
      setPatternErrors(null);
      setResult(next);
    },
    // The previous result described other patterns: a failed test must not leave it on screen.
    onError: (error) => {
      setResult(null);
      refused(error);
    },
  });
  if (!data) return null;
  const portalDlp: PortalDlp = data.portals[portal] ?? { actions: {}, capture: "full" };
  const setPortalDlp = (next: PortalDlp) => save.mutate({ portals: { [portal]: next } });
  const editPattern = (i: number, change: Partial<Pattern>) => {
    setPatternErrors(null);
    setPatterns(shownPatterns.map((p, j) => (j === i ? { ...p, ...change } : p)));
  };
  const fieldError = (i: number, key: keyof Pattern) => patternErrors?.fields[`patterns.${i}.${key}`];
  const otherErrors = Object.entries(patternErrors?.fields ?? {}).filter(([field]) => !/^patterns\.\d+\.(id|name|regex)$/.test(field));

  return (
    <Card className="mt-6">
      <CardHeader>
        <CardTitle>Data loss prevention</CardTitle>
        <CardDescription>
          Gateways scan tool arguments and results before anything is recorded. Matches are redacted in the audit log by default; a portal can flag them only, or block the call.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-6">
        <section aria-label="DLP for a portal" className="grid gap-3">
          <div className="flex flex-wrap items-end gap-3">
            <div className="grid gap-1">
              <Label htmlFor="dlp-portal">Portal</Label>
              <Select id="dlp-portal" value={portal} onChange={(e) => setPortal(e.target.value)} options={portals.map((p) => ({ value: p, label: p }))} />
            </div>
            <div className="grid gap-1">
              <Label htmlFor="dlp-capture">Payload capture</Label>
              <Select id="dlp-capture" disabled={!canWrite || !portal} value={portalDlp.capture} options={CAPTURE} onChange={(e) => setPortalDlp({ ...portalDlp, capture: e.target.value as PortalDlp["capture"] })} />
            </div>
          </div>
          <div className="grid gap-2 sm:grid-cols-2">
            {[...data.detectors, ...data.patterns.map((p) => ({ id: p.id, label: p.name }))].map((d) => (
              <div key={d.id} className="flex items-center justify-between gap-2">
                <Label htmlFor={`dlp-action-${d.id}`} className="text-sm">
                  {d.label}
                </Label>
                <Select
                  id={`dlp-action-${d.id}`}
                  wrapperClassName="w-48"
                  disabled={!canWrite || !portal}
                  value={portalDlp.actions[d.id] ?? "redact"}
                  options={ACTIONS}
                  onChange={(e) => setPortalDlp({ ...portalDlp, actions: { ...portalDlp.actions, [d.id]: e.target.value as "redact" } })}
                />
              </div>
            ))}
          </div>
        </section>

        <section aria-label="DLP patterns" className="grid gap-2">
          <h4 className="text-sm font-semibold">Patterns (RE2 syntax: linear time, no backreferences)</h4>
          {shownPatterns.map((p, i) => {
            const errors = (["id", "name", "regex"] as const).map((key) => [key, fieldError(i, key)] as const).filter(([, message]) => message);
            const invalid = (key: keyof Pattern) => (fieldError(i, key) ? { "aria-invalid": true, "aria-describedby": `dlp-pattern-${i}-${key}-error` } : {});
            return (
              <div key={i} className="grid gap-1">
                <div className="flex flex-wrap items-center gap-2">
                  <Input aria-label="Pattern id" className="w-36" value={p.id} disabled={!canWrite} onChange={(e) => editPattern(i, { id: e.target.value })} {...invalid("id")} />
                  <Input aria-label="Pattern name" className="w-48" value={p.name} disabled={!canWrite} onChange={(e) => editPattern(i, { name: e.target.value })} {...invalid("name")} />
                  <Input aria-label="Pattern regex" className="w-72 font-mono" value={p.regex} disabled={!canWrite} onChange={(e) => editPattern(i, { regex: e.target.value })} {...invalid("regex")} />
                  {canWrite ? (
                    <Button
                      variant="ghost"
                      size="icon"
                      aria-label={`Remove pattern ${p.name}`}
                      onClick={() => {
                        setPatternErrors(null);
                        setPatterns(shownPatterns.filter((_, j) => j !== i));
                      }}
                    >
                      <Trash2 aria-hidden />
                    </Button>
                  ) : null}
                </div>
                {errors.map(([key, message]) => (
                  <p key={key} id={`dlp-pattern-${i}-${key}-error`} className="text-[0.8125rem] font-medium text-destructive-strong">
                    {message}
                  </p>
                ))}
              </div>
            );
          })}
          {otherErrors.map(([field, message]) => (
            <p key={field} className="text-[0.8125rem] font-medium text-destructive-strong">
              {message}
            </p>
          ))}
          {canWrite ? (
            <div className="flex gap-2">
              <Button variant="outline" size="sm" onClick={() => setPatterns([...shownPatterns, { id: `pattern_${shownPatterns.length + 1}`, name: "New pattern", regex: "" }])}>
                <Plus aria-hidden />
                Add pattern
              </Button>
              <Button size="sm" disabled={patterns === null} loading={save.isPending} onClick={() => save.mutate({ patterns: shownPatterns })}>
                Save patterns
              </Button>
            </div>
          ) : null}
        </section>

        <section aria-label="DLP test" className="grid gap-2">
          <Label htmlFor="dlp-sample">Test on sample text</Label>
          <Textarea id="dlp-sample" rows={3} value={sample} onChange={(e) => setSample(e.target.value)} />
          <div>
            <Button variant="outline" size="sm" loading={test.isPending} onClick={() => test.mutate()}>
              Test
            </Button>
          </div>
          {test.isError && patternErrors ? (
            <div className="grid gap-1 text-sm text-destructive-strong" role="alert">
              <p className="font-medium">Test not run: {patternErrors.message}.</p>
              {Object.values(patternErrors.fields).map((message, i) => (
                <p key={i}>{message}</p>
              ))}
            </div>
          ) : null}
          {result ? (
            <div className="grid gap-1 text-sm" role="status">
              {result.matches.length ? (
                <ul className="list-disc pl-4">
                  {result.matches.map((m, i) => (
                    <li key={i}>
                      <span className="font-mono text-xs">{m.detector}</span>: <span className="font-mono">{m.text}</span>
                    </li>
                  ))}
                </ul>
              ) : (
                <p>No matches.</p>
              )}
              <p className="text-muted-foreground">
                Recorded as: <span className="font-mono">{result.redacted}</span>
              </p>
            </div>
          ) : null}
        </section>
      </CardContent>
    </Card>
  );
}
