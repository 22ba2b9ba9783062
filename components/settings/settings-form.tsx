"use client";

import { useId, useState } from "react";
import { useQuery, useQueryClient, useMutation } from "@tanstack/react-query";
import { KeyRound, ShieldAlert, TriangleExclamationPoint } from "lucide-react";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { settingsKeys } from "@/lib/api/query-keys";
import { settingsSchema, type Settings } from "@/lib/schemas/settings";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/textarea";

/** A PATCH of some settings, with the toast to show once it is saved. */
type Change = { patch: Partial<Settings>; saved: (next: Settings) => string };

/** Saves a change, puts the full settings the API answers in the cache, and says what changed. */
function useUpdateSettings({ onError }: { onError?: (error: Error, change: Change) => void } = {}) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ patch }: Change) => api<Settings>("PATCH", "/settings", patch),
    onSuccess: (next, { saved }) => {
      queryClient.setQueryData(settingsKeys.all, next);
      toast.success(saved(next));
    },
    onError: onError ?? ((error) => toast.error(error.message || "Could not save the setting")),
  });
}

export function SettingsForm({ initialSettings, canWrite }: { initialSettings: Settings; canWrite: boolean }) {
  const { data: settings } = useQuery({
    queryKey: settingsKeys.all,
    queryFn: () => api<Settings>("GET", "/settings"),
    initialData: initialSettings,
  });

  // The switches share one mutation: each shows the value being saved at once, and all wait for it.
  const toggle = useUpdateSettings();
  const shown = (key: "allowPrivateTargets" | "oauthDynamicRegistration" | "oauthCimdAllowPrivate") =>
    (toggle.isPending ? toggle.variables?.patch[key] : undefined) ?? settings[key];
  const allow = shown("allowPrivateTargets");
  const registration = shown("oauthDynamicRegistration");
  const cimdPrivate = shown("oauthCimdAllowPrivate");
  const switchDisabled = !canWrite || toggle.isPending;

  return (
    <div className="flex max-w-3xl flex-col gap-6">
      {canWrite ? null : (
        <Alert variant="info" title="Read-only">
          Only admins can change settings.
        </Alert>
      )}
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <ShieldAlert aria-hidden className="size-4 text-muted-foreground" />
            Upstream network safety
          </CardTitle>
          <CardDescription>Which addresses Portico may connect to when it syncs and calls MCP servers.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <SettingSwitch
            id="allow-private-targets"
            label="Allow private upstream targets"
            checked={allow}
            riskyWhenOn
            disabled={switchDisabled}
            onCheckedChange={(checked) =>
              toggle.mutate({
                patch: { allowPrivateTargets: checked },
                saved: (next) => (next.allowPrivateTargets ? "Private upstream targets are now allowed" : "Private upstream targets are refused again"),
              })
            }
          >
            When off, server URLs that resolve to link-local or cloud-metadata addresses (such as 169.254.169.254) are refused. This guards
            against server-side request forgery: someone who can register a server could otherwise make Portico read your cloud
            credentials or reach internal-only services.
          </SettingSwitch>
          {allow ? (
            <Alert variant="warning" title="The SSRF guard is relaxed">
              Turn this on only if your MCP servers really live on such addresses, and keep server registration to trusted admins.
            </Alert>
          ) : null}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <KeyRound aria-hidden className="size-4 text-muted-foreground" />
            Sign-in for MCP clients
          </CardTitle>
          <CardDescription>
            How MCP clients such as Claude, VS Code or Cursor get tokens when people connect them to a portal. People always sign in and
            approve each client. Changes apply within a few seconds.
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-6">
          <SettingSwitch
            id="oauth-dynamic-registration"
            label="Let MCP clients register themselves"
            checked={registration}
            disabled={switchDisabled}
            onCheckedChange={(checked) =>
              toggle.mutate({
                patch: { oauthDynamicRegistration: checked },
                saved: (next) => (next.oauthDynamicRegistration ? "MCP clients can register themselves again" : "MCP clients can no longer register themselves"),
              })
            }
          >
            Most MCP clients register on their own the first time someone connects (dynamic client registration). When off, only clients an
            admin registers under Connected clients, or clients that publish a metadata document, can sign in: fewer unknown clients, more
            work for you.
          </SettingSwitch>

          <div className="grid gap-6 border-t pt-6">
            <CimdDomainsForm saved={settings.oauthCimdDomains} canWrite={canWrite} />
            <SettingSwitch
              id="oauth-cimd-allow-private"
              label="Allow metadata documents on private addresses"
              checked={cimdPrivate}
              riskyWhenOn
              tone="warning"
              disabled={switchDisabled}
              onCheckedChange={(checked) =>
                toggle.mutate({
                  patch: { oauthCimdAllowPrivate: checked },
                  saved: (next) => (next.oauthCimdAllowPrivate ? "Metadata documents on private addresses are now allowed" : "Metadata documents on private addresses are refused again"),
                })
              }
            >
              Lets Portico fetch client metadata from private, loopback or link-local addresses. This turns off a guard against server-side
              request forgery: anyone who can start a sign-in could make Portico send requests into your internal network. For testing only.
            </SettingSwitch>
            {cimdPrivate ? (
              <Alert variant="warning" title="The SSRF guard for client metadata is off">
                Turn this off again once you are done testing a client on your own network.
              </Alert>
            ) : null}
          </div>

          <div className="border-t pt-6">
            <TokenLifetimesForm saved={settings} canWrite={canWrite} />
          </div>

          {canWrite ? (
            <div className="border-t pt-6">
              <RotateSigningKeys />
            </div>
          ) : null}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Approver webhook</CardTitle>
          <CardDescription>
            When someone asks for elevated access, Portico posts a message here with a link to the request in Approvals: a Slack incoming
            webhook, or any receiver that reads JSON (the request&apos;s facts are under <code>portico</code>).
          </CardDescription>
        </CardHeader>
        <CardContent>
          <ApproverWebhookForm saved={settings} canWrite={canWrite} />
        </CardContent>
      </Card>
    </div>
  );
}

type SettingSwitchProps = {
  /** The switch's id; its description is `${id}-description`. */
  id: string;
  label: string;
  checked: boolean;
  /** On weakens a guard: the badge warns when on and reassures when off. */
  riskyWhenOn?: boolean;
  /** Shows the description as a warning, for a switch whose "on" is dangerous. */
  tone?: "muted" | "warning";
  disabled: boolean;
  onCheckedChange: (checked: boolean) => void;
  /** What the setting does and what it costs, in a sentence or three. */
  children: React.ReactNode;
};

/** A setting that applies as soon as it is flipped: label and description on the left, state and switch on the right. */
function SettingSwitch({ id, label, checked, riskyWhenOn = false, tone = "muted", disabled, onCheckedChange, children }: SettingSwitchProps) {
  const badge: BadgeVariant = riskyWhenOn ? (checked ? "warning" : "success") : checked ? "info" : "secondary";
  return (
    <div className="flex items-start justify-between gap-6">
      <div className="grid gap-1.5">
        <Label htmlFor={id}>{label}</Label>
        <p id={`${id}-description`} className={cn("text-sm", tone === "warning" ? "text-warning-strong" : "text-muted-foreground")}>
          {tone === "warning" ? <TriangleExclamationPoint aria-hidden className="mr-1.5 -mt-0.5 inline size-4" /> : null}
          {children}
        </p>
      </div>
      <div className="flex items-center gap-2 pt-0.5">
        <Badge variant={badge} aria-hidden>
          {checked ? "On" : "Off"}
        </Badge>
        <Switch id={id} checked={checked} disabled={disabled} aria-describedby={`${id}-description`} onCheckedChange={onCheckedChange} />
      </div>
    </div>
  );
}

const cimdDomainsSchema = settingsSchema.shape.oauthCimdDomains.unwrap();

/** "bad_host: Use a domain name…" for a problem with one entry, the message alone for one with the list. */
function domainProblem(path: readonly PropertyKey[], message: string, domains: readonly string[]): string {
  const entry = typeof path[0] === "number" ? domains[path[0]] : undefined;
  return entry === undefined ? message : `${entry}: ${message}`;
}

/** The allowlist of Client ID Metadata Document hosts, edited as text and saved as a whole. */
function CimdDomainsForm({ saved, canWrite }: { saved: string[]; canWrite: boolean }) {
  const id = useId();
  // Null until edited: the field shows what is saved, and follows it when it changes elsewhere.
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const savedText = saved.join("\n");
  const text = draft ?? savedText;
  const dirty = draft !== null && draft.trim() !== savedText;

  const update = useUpdateSettings({
    onError: (failed, { patch }) => {
      const problem = failed instanceof ApiError ? failed.fieldErrors.find((e) => e.field.split(".")[0] === "oauthCimdDomains") : undefined;
      if (!problem) return toast.error(failed.message || "Could not save the domains");
      const index = Number(problem.field.split(".")[1]);
      setError(domainProblem(Number.isInteger(index) ? [index] : [], problem.message, patch.oauthCimdDomains ?? []));
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    // Commas and spaces separate entries too: a domain pattern never holds one.
    const entries = text.split(/[\s,]+/).filter(Boolean);
    const parsed = cimdDomainsSchema.safeParse(entries);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return setError(issue ? domainProblem(issue.path, issue.message, entries) : "Check the domains");
    }
    const domains = [...new Set(parsed.data)];
    update.mutate(
      {
        patch: { oauthCimdDomains: domains },
        saved: (next) => (next.oauthCimdDomains.length ? "Client metadata domains saved" : "Client metadata is accepted from any public https host"),
      },
      { onSuccess: () => setDraft(null) },
    );
  };

  return (
    <form onSubmit={submit} noValidate className="grid gap-3">
      <FormField
        label="Allowed domains for client metadata"
        htmlFor={`${id}-domains`}
        error={error}
        description={
          <>
            Some MCP clients identify themselves with a link to a metadata document instead of registering. Portico fetches such documents
            only from these domains, one per line, such as <code>claude.ai</code>, or <code>*.example.com</code> for its subdomains. Empty
            accepts any public https host; a list keeps out clients you do not know.
          </>
        }
      >
        <Textarea
          rows={4}
          className="font-mono text-xs"
          spellCheck={false}
          autoCapitalize="off"
          autoComplete="off"
          placeholder={canWrite ? "claude.ai\n*.example.com" : "Any public https host"}
          readOnly={!canWrite}
          value={text}
          onChange={(e) => {
            setDraft(e.target.value);
            setError(null);
          }}
        />
      </FormField>
      {canWrite ? (
        <div className="flex justify-end">
          <Button type="submit" variant="outline" loading={update.isPending} disabled={!dirty}>
            Save domains
          </Button>
        </div>
      ) : null}
    </form>
  );
}

const LIFETIMES = {
  oauthAccessTokenMinutes: { schema: settingsSchema.shape.oauthAccessTokenMinutes.unwrap(), unit: "minutes" },
  oauthRefreshTokenDays: { schema: settingsSchema.shape.oauthRefreshTokenDays.unwrap(), unit: "days" },
} as const;
type LifetimeKey = keyof typeof LIFETIMES;

const range = (key: LifetimeKey) => `from ${LIFETIMES[key].schema.minValue} to ${LIFETIMES[key].schema.maxValue}`;

/** The lifetime typed in, or the message saying what is allowed. */
function parseLifetime(key: LifetimeKey, raw: string): { value: number } | { error: string } {
  const value = raw.trim() === "" ? Number.NaN : Number(raw);
  return LIFETIMES[key].schema.safeParse(value).success ? { value } : { error: `Enter a whole number of ${LIFETIMES[key].unit} ${range(key)}.` };
}

/** Access and refresh token lifetimes, saved together. */
function TokenLifetimesForm({ saved, canWrite }: { saved: Pick<Settings, LifetimeKey>; canWrite: boolean }) {
  const id = useId();
  const [drafts, setDrafts] = useState<Partial<Record<LifetimeKey, string>>>({});
  const [errors, setErrors] = useState<Partial<Record<LifetimeKey, string>>>({});
  const text = (key: LifetimeKey) => drafts[key] ?? String(saved[key]);
  const dirty = (Object.keys(LIFETIMES) as LifetimeKey[]).some((key) => text(key).trim() !== String(saved[key]));

  const update = useUpdateSettings({
    onError: (failed) => {
      const fields = failed instanceof ApiError ? failed.fieldMap() : {};
      const found = { oauthAccessTokenMinutes: fields.oauthAccessTokenMinutes, oauthRefreshTokenDays: fields.oauthRefreshTokenDays };
      if (!found.oauthAccessTokenMinutes && !found.oauthRefreshTokenDays) return toast.error(failed.message || "Could not save the lifetimes");
      setErrors(found);
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const minutes = parseLifetime("oauthAccessTokenMinutes", text("oauthAccessTokenMinutes"));
    const days = parseLifetime("oauthRefreshTokenDays", text("oauthRefreshTokenDays"));
    if ("error" in minutes || "error" in days) {
      return setErrors({ oauthAccessTokenMinutes: "error" in minutes ? minutes.error : undefined, oauthRefreshTokenDays: "error" in days ? days.error : undefined });
    }
    update.mutate(
      {
        patch: { oauthAccessTokenMinutes: minutes.value, oauthRefreshTokenDays: days.value },
        saved: () => "Token lifetimes saved. They apply to tokens issued from now on.",
      },
      { onSuccess: () => setDrafts({}) },
    );
  };

  const field = (key: LifetimeKey) => (
    <Input
      type="number"
      inputMode="numeric"
      min={LIFETIMES[key].schema.minValue ?? undefined}
      max={LIFETIMES[key].schema.maxValue ?? undefined}
      className="w-32"
      readOnly={!canWrite}
      value={text(key)}
      onChange={(e) => {
        setDrafts((d) => ({ ...d, [key]: e.target.value }));
        setErrors((errs) => ({ ...errs, [key]: undefined }));
      }}
    />
  );

  return (
    <form onSubmit={submit} noValidate className="grid gap-3">
      <div className="grid gap-4 sm:grid-cols-2">
        <FormField
          label="Access token lifetime (minutes)"
          htmlFor={`${id}-access`}
          error={errors.oauthAccessTokenMinutes}
          description={`How long a client may call tools before it must refresh, ${range("oauthAccessTokenMinutes")}. Shorter limits what a stolen token can do.`}
        >
          {field("oauthAccessTokenMinutes")}
        </FormField>
        <FormField
          label="Refresh token lifetime (days)"
          htmlFor={`${id}-refresh`}
          error={errors.oauthRefreshTokenDays}
          description={`A client unused for this long must sign in again, ${range("oauthRefreshTokenDays")}. Each refresh starts the period anew.`}
        >
          {field("oauthRefreshTokenDays")}
        </FormField>
      </div>
      {canWrite ? (
        <div className="flex justify-end">
          <Button type="submit" variant="outline" loading={update.isPending} disabled={!dirty}>
            Save lifetimes
          </Button>
        </div>
      ) : null}
    </form>
  );
}

/** The approver webhook: URL and the HMAC secret's reference, saved together; empty turns it off. */
function ApproverWebhookForm({ saved, canWrite }: { saved: Pick<Settings, "approverWebhookUrl" | "approverWebhookSecretRef">; canWrite: boolean }) {
  const id = useId();
  const [url, setUrl] = useState<string | null>(null);
  const [secretRef, setSecretRef] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const shownUrl = url ?? saved.approverWebhookUrl ?? "";
  const shownRef = secretRef ?? saved.approverWebhookSecretRef ?? "";
  const dirty = shownUrl.trim() !== (saved.approverWebhookUrl ?? "") || shownRef.trim() !== (saved.approverWebhookSecretRef ?? "");
  const update = useUpdateSettings({
    onError: (failed) => {
      const fields = failed instanceof ApiError ? failed.fieldMap() : {};
      if (!fields.approverWebhookUrl && !fields.approverWebhookSecretRef) return toast.error(failed.message || "Could not save the webhook");
      setErrors({ approverWebhookUrl: fields.approverWebhookUrl ?? "", approverWebhookSecretRef: fields.approverWebhookSecretRef ?? "" });
    },
  });
  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    setErrors({});
    update.mutate(
      {
        patch: { approverWebhookUrl: shownUrl.trim() || null, approverWebhookSecretRef: shownRef.trim() || null },
        saved: (next) => (next.approverWebhookUrl ? "Approver webhook saved: new requests are announced there" : "Approver webhook turned off"),
      },
      {
        onSuccess: () => {
          setUrl(null);
          setSecretRef(null);
        },
      },
    );
  };
  return (
    <form onSubmit={submit} noValidate className="grid gap-3" data-testid="approver-webhook-form">
      <FormField label="Webhook URL" htmlFor={`${id}-url`} error={errors.approverWebhookUrl || undefined} description="Leave empty to send nothing.">
        <Input id={`${id}-url`} type="url" placeholder="https://hooks.slack.com/services/…" readOnly={!canWrite} value={shownUrl} onChange={(e) => setUrl(e.target.value)} />
      </FormField>
      <FormField
        label="Signing secret (reference)"
        htmlFor={`${id}-secret`}
        error={errors.approverWebhookSecretRef || undefined}
        description="env:NAME or file:/path, read when a message is sent. With it, each message carries x-portico-signature: t=<unix time>,v1=<HMAC-SHA256 of “t.body”>, as alert webhooks do."
      >
        <Input id={`${id}-secret`} placeholder="env:PORTICO_APPROVALS_WEBHOOK_SECRET" readOnly={!canWrite} value={shownRef} onChange={(e) => setSecretRef(e.target.value)} />
      </FormField>
      {canWrite ? (
        <div className="flex justify-end">
          <Button type="submit" variant="outline" loading={update.isPending} disabled={!dirty}>
            Save webhook
          </Button>
        </div>
      ) : null}
    </form>
  );
}

/** Rotating the keys that sign access tokens: new tokens use the new keys, issued ones keep working. */
function RotateSigningKeys() {
  const [isOpen, setIsOpen] = useState(false);
  return (
    <div className="flex items-start justify-between gap-6">
      <div className="grid gap-1.5">
        <p className="text-sm font-medium">Token signing keys</p>
        <p className="text-sm text-muted-foreground">
          Rotate them on a schedule or if you suspect a key leaked. Tokens already issued keep working: the old keys stay published for two
          hours, longer than any access token lives.
        </p>
      </div>
      <Button variant="outline" size="sm" onClick={() => setIsOpen(true)}>
        Rotate keys
      </Button>
      <ConfirmDialog
        open={isOpen}
        onOpenChange={setIsOpen}
        title="Rotate the token signing keys?"
        description="New access tokens are signed with new keys from now on; gateways pick the new keys up by themselves."
        confirmLabel="Rotate keys"
        variant="default"
        onConfirm={async () => {
          await api("POST", "/settings/oauth-keys/rotate");
          toast.success("Signing keys rotated");
        }}
      />
    </div>
  );
}
