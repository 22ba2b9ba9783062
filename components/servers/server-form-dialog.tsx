"use client";

import { useId, useRef, useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { ApiError, api } from "@/lib/api/client";
import { serverKeys } from "@/lib/api/query-keys";
import { createServerInput, updateServerInput, type CredentialInput, type ServerView } from "@/lib/schemas/server";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Textarea } from "@/components/ui/textarea";
import { zodFieldErrors } from "@/components/forms/field-errors";
import { TRANSPORT_LABELS, slugify, type Transport } from "@/components/servers/format";

type CredentialKind = CredentialInput["kind"];

type Values = {
  name: string;
  slug: string;
  url: string;
  transport: Transport;
  description: string;
  credentialKind: CredentialKind;
  headerName: string;
  secretValue: string;
  secretRef: string;
};

type Errors = Record<string, string>;

const TRANSPORT_OPTIONS = (Object.keys(TRANSPORT_LABELS) as Transport[]).map((value) => ({ value, label: TRANSPORT_LABELS[value] }));

const CREDENTIAL_KINDS: { value: CredentialKind; label: string; hint: string }[] = [
  { value: "none", label: "None", hint: "No credential sent" },
  { value: "header", label: "Static header", hint: "Secret stored encrypted" },
  { value: "reference", label: "Reference", hint: "From env: or file:" },
];

// The API's field paths, in the order the form shows them.
const FORM_FIELDS = ["name", "slug", "url", "transport", "description", "credential", "credential.kind", "credential.headerName", "credential.value", "credential.ref"];

function initialValues(server?: ServerView): Values {
  return {
    name: server?.name ?? "",
    slug: server?.slug ?? "",
    url: server?.url ?? "",
    transport: server?.transport ?? "streamable_http",
    description: server?.description ?? "",
    credentialKind: server?.credential.kind ?? "none",
    headerName: server?.credential.headerName ?? "Authorization",
    secretValue: "",
    secretRef: server?.credential.ref ?? "",
  };
}

function toCredential(values: Values): CredentialInput {
  switch (values.credentialKind) {
    case "none":
      return { kind: "none" };
    case "header":
      return { kind: "header", headerName: values.headerName, value: values.secretValue };
    case "reference":
      return { kind: "reference", headerName: values.headerName, ref: values.secretRef };
  }
}

function describeCredential(server: ServerView): string {
  const { credential } = server;
  if (credential.kind === "header") {
    return credential.hasSecret ? `Static header ${credential.headerName ?? ""}: a secret is stored` : `Static header ${credential.headerName ?? ""}: no secret stored`;
  }
  if (credential.kind === "reference") return `Reference: ${credential.headerName ?? ""} from ${credential.ref ?? "?"}`;
  return "None";
}

type ServerFormDialogProps = {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** Edit this server; omit to add a new one. */
  server?: ServerView;
};

/**
 * Add or edit a server. Mount it with a fresh `key` per opening so that it starts from the
 * server's current values. On edit the stored credential is kept (left out of the PATCH) unless
 * the admin chooses to replace it: the form never sees, and never has to send back, the secret.
 */
export function ServerFormDialog({ open, onOpenChange, server }: ServerFormDialogProps) {
  const isEdit = server !== undefined;
  const id = useId();
  const formId = `${id}-form`;
  const fieldId = (name: string) => `${id}-${name}`;
  const router = useRouter();
  const queryClient = useQueryClient();

  const [values, setValues] = useState<Values>(() => initialValues(server));
  const [isSlugEdited, setIsSlugEdited] = useState(isEdit);
  const [isCredentialChanging, setIsCredentialChanging] = useState(!isEdit);
  const [errors, setErrors] = useState<Errors>({});
  const formRef = useRef<HTMLFormElement>(null);

  // Moves focus (and the scroll position of the dialog) to the first field with an error.
  const focusFirstError = (fields: Iterable<string>) => {
    const invalid = new Set(fields);
    const first = FORM_FIELDS.find((field) => invalid.has(field));
    if (first) formRef.current?.querySelector<HTMLElement>(`[data-field="${CSS.escape(first)}"]`)?.focus();
  };

  const set = <K extends keyof Values>(key: K, value: Values[K]) => {
    setValues((current) => ({ ...current, [key]: value, ...(key === "name" && !isSlugEdited ? { slug: slugify(String(value)) } : {}) }));
    setErrors((current) => {
      const fieldKey = { name: "name", slug: "slug", url: "url", transport: "transport", description: "description", credentialKind: "credential", headerName: "credential.headerName", secretValue: "credential.value", secretRef: "credential.ref" }[key];
      if (!current[fieldKey] && !current.form) return current;
      const next = { ...current };
      delete next[fieldKey];
      delete next.form;
      return next;
    });
  };

  const mutation = useMutation({
    mutationFn: (body: unknown) => (isEdit ? api<ServerView>("PATCH", `/servers/${server.id}`, body) : api<ServerView>("POST", "/servers", body)),
    onSuccess: async (saved) => {
      await queryClient.invalidateQueries({ queryKey: serverKeys.all });
      if (isEdit) {
        toast.success(`Saved ${saved.name}`, saved.status === "stale" ? { description: "Connection settings changed: sync to refresh its tools." } : undefined);
        onOpenChange(false);
        router.refresh();
      } else {
        toast.success(`Added ${saved.name}`, { description: "Syncing to discover its tools…" });
        onOpenChange(false);
        // The server page runs the first sync (with its progress and outcome) instead of asking for a click.
        router.push(`/servers/${saved.id}?sync=1`);
      }
    },
    onError: (error) => {
      if (error instanceof ApiError) {
        const fields = error.fieldMap();
        const known = Object.fromEntries(Object.entries(fields).filter(([field]) => FORM_FIELDS.includes(field)));
        // A unique violation whose column the database did not name can only be the slug.
        if (error.status === 409 && Object.keys(known).length === 0) known.slug = error.message;
        const hasUnknown = Object.keys(fields).some((field) => !FORM_FIELDS.includes(field));
        setErrors({ ...known, ...(Object.keys(known).length === 0 || hasUnknown ? { form: error.message } : {}) });
        if (Object.keys(known).length === 0) formRef.current?.scrollTo({ top: 0 });
        else focusFirstError(Object.keys(known));
        return;
      }
      setErrors({ form: error.message || "Something went wrong. Please try again." });
      formRef.current?.scrollTo({ top: 0 });
    },
  });

  const submit = (event: React.FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const fields = { name: values.name, slug: values.slug, url: values.url, transport: values.transport, description: values.description };
    const body = isEdit ? { ...fields, ...(isCredentialChanging ? { credential: toCredential(values) } : {}) } : { ...fields, credential: toCredential(values) };
    const parsed = isEdit ? updateServerInput.safeParse(body) : createServerInput.safeParse(body);
    if (!parsed.success) {
      setErrors(zodFieldErrors(parsed.error, { nested: true }));
      focusFirstError(parsed.error.issues.map((issue) => issue.path.join(".")));
      return;
    }
    setErrors({});
    mutation.mutate(parsed.data);
  };

  const credentialError = errors.credential ?? errors["credential.kind"];
  const slugExample = values.slug || "<slug>";

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title={isEdit ? `Edit ${server.name}` : "Add server"}
      description={isEdit ? "Changing the URL, transport or credential marks the server stale until the next sync." : "Register an upstream MCP server. Portico discovers its tools on the first sync."}
      dismissible={!mutation.isPending}
      className="max-w-xl"
      footer={
        <>
          <Button type="button" variant="outline" disabled={mutation.isPending} onClick={() => onOpenChange(false)}>
            Cancel
          </Button>
          <Button type="submit" form={formId} loading={mutation.isPending}>
            Save
          </Button>
        </>
      }
    >
      <form ref={formRef} id={formId} noValidate onSubmit={submit} className="grid max-h-[65vh] gap-4 overflow-y-auto px-0.5 pb-0.5">
        {errors.form ? (
          <Alert variant="destructive" title={isEdit ? "Could not save the server" : "Could not add the server"}>
            {errors.form}
          </Alert>
        ) : null}

        <FormField label="Name" htmlFor={fieldId("name")} required error={errors.name}>
          <Input data-field="name" value={values.name} onChange={(e) => set("name", e.target.value)} placeholder="Billing data" autoComplete="off" autoFocus />
        </FormField>

        <FormField
          label="Slug"
          htmlFor={fieldId("slug")}
          required
          error={errors.slug}
          description={
            <>
              Becomes the tool-name prefix: <code className="font-mono text-foreground">{slugExample}_&lt;tool&gt;</code>. Lowercase letters, digits and dashes.
              {isEdit ? " Renaming it renames every tool at the gateway." : null}
            </>
          }
        >
          <Input
            data-field="slug"
            value={values.slug}
            onChange={(e) => {
              setIsSlugEdited(true);
              set("slug", e.target.value);
            }}
            placeholder="billing-data"
            autoComplete="off"
            spellCheck={false}
            className="font-mono"
          />
        </FormField>

        <FormField label="URL" htmlFor={fieldId("url")} required error={errors.url} description="The server's MCP endpoint.">
          <Input data-field="url" type="url" inputMode="url" value={values.url} onChange={(e) => set("url", e.target.value)} placeholder="https://mcp.example.com/mcp" autoComplete="off" spellCheck={false} />
        </FormField>

        <FormField label="Transport" htmlFor={fieldId("transport")} error={errors.transport}>
          <Select data-field="transport" value={values.transport} onChange={(e) => set("transport", e.target.value as Transport)} options={TRANSPORT_OPTIONS} />
        </FormField>

        <FormField label="Description" htmlFor={fieldId("description")} error={errors.description}>
          <Textarea data-field="description" value={values.description} onChange={(e) => set("description", e.target.value)} placeholder="Who owns it, what it reaches…" rows={2} />
        </FormField>

        <fieldset className="grid gap-3 rounded-lg border p-4">
          <legend className="px-1 text-sm font-medium">Credential</legend>

          {isEdit ? (
            <>
              <p className="text-sm text-muted-foreground">
                Current: <span className="font-medium text-foreground">{describeCredential(server)}</span>
              </p>
              <div className="flex items-center gap-2">
                <Checkbox id={fieldId("change-credential")} checked={isCredentialChanging} onChange={(e) => setIsCredentialChanging(e.target.checked)} />
                <Label htmlFor={fieldId("change-credential")}>{server.credential.hasSecret ? "Replace the stored credential" : "Change the credential"}</Label>
              </div>
            </>
          ) : null}

          {isCredentialChanging ? (
            <>
              <div role="radiogroup" aria-label="Credential type" className="grid gap-2 sm:grid-cols-3">
                {CREDENTIAL_KINDS.map((kind) => (
                  <label
                    key={kind.value}
                    className={cn(
                      "flex cursor-pointer items-start gap-2 rounded-md border p-2.5 text-sm transition-colors has-[:focus-visible]:ring-[3px] has-[:focus-visible]:ring-ring/50",
                      values.credentialKind === kind.value ? "border-primary bg-primary/5" : "hover:bg-accent",
                    )}
                  >
                    <input
                      type="radio"
                      name={`${id}-credential-kind`}
                      value={kind.value}
                      checked={values.credentialKind === kind.value}
                      onChange={() => set("credentialKind", kind.value)}
                      data-field={values.credentialKind === kind.value ? "credential" : undefined}
                      className="mt-0.5 accent-primary"
                    />
                    <span className="grid gap-0.5">
                      <span className="font-medium">{kind.label}</span>
                      <span className="text-xs text-muted-foreground">{kind.hint}</span>
                    </span>
                  </label>
                ))}
              </div>
              {credentialError ? <p className="text-[0.8125rem] font-medium text-destructive-strong">{credentialError}</p> : null}

              {values.credentialKind !== "none" ? (
                <FormField label="Header name" htmlFor={fieldId("header-name")} required error={errors["credential.headerName"]}>
                  <Input data-field="credential.headerName" value={values.headerName} onChange={(e) => set("headerName", e.target.value)} autoComplete="off" spellCheck={false} className="font-mono" />
                </FormField>
              ) : null}

              {values.credentialKind === "header" ? (
                <FormField
                  label="Secret value"
                  htmlFor={fieldId("secret-value")}
                  required
                  error={errors["credential.value"]}
                  description="The full header value, e.g. Bearer … It is stored encrypted and never shown again."
                >
                  <Input data-field="credential.value" type="password" value={values.secretValue} onChange={(e) => set("secretValue", e.target.value)} autoComplete="new-password" spellCheck={false} />
                </FormField>
              ) : null}

              {values.credentialKind === "reference" ? (
                <FormField
                  label="Secret reference"
                  htmlFor={fieldId("secret-ref")}
                  required
                  error={errors["credential.ref"]}
                  description={
                    <>
                      <code className="font-mono">env:NAME</code> or <code className="font-mono">file:/absolute/path</code>, read where the request is made.
                    </>
                  }
                >
                  <Input data-field="credential.ref" value={values.secretRef} onChange={(e) => set("secretRef", e.target.value)} placeholder="env:BILLING_API_TOKEN" autoComplete="off" spellCheck={false} className="font-mono" />
                </FormField>
              ) : null}
            </>
          ) : null}
        </fieldset>
      </form>
    </Dialog>
  );
}
