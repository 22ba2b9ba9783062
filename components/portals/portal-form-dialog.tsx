"use client";

import { useId, useState } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import { createPortalInput, updatePortalInput, type CreatePortalInput, type PortalView, type UpdatePortalInput } from "@/lib/schemas/portal";
import { Alert } from "@/components/ui/alert";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Switch } from "@/components/ui/switch";
import { Textarea } from "@/components/ui/textarea";
import { ServerChecklist } from "@/components/portals/server-checklist";
import { zodFieldErrors } from "@/components/forms/field-errors";
import { FormActions } from "@/components/forms/form-actions";
import { slugify } from "@/components/portals/portal-format";

type PortalFormDialogProps = {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The gateway URL up to and including "/mcp/", to preview the portal's address as the slug is typed. */
  urlPrefix: string;
} & ({ mode: "create"; portal?: undefined } | { mode: "edit"; portal: PortalView });

/** "Create portal" and "Edit portal": one form, so both validate with the schemas the API uses. */
export function PortalFormDialog(props: PortalFormDialogProps) {
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog
      open={props.open}
      onOpenChange={props.onOpenChange}
      title={props.mode === "create" ? "Create portal" : "Edit portal"}
      description={
        props.mode === "create"
          ? "A portal is one MCP address over a set of servers. People connect their clients to it."
          : "Change how this portal is named and reached, and whether new tools start off."
      }
      dismissible={!isPending}
      className="max-w-xl"
    >
      {/* Mounted only while open, so each opening starts from the current values. */}
      {props.open ? <PortalForm {...props} onPendingChange={setIsPending} /> : null}
    </Dialog>
  );
}

type FormValues = { name: string; slug: string; description: string; allowlistMode: boolean; dropServerPrefix: boolean; serverIds: string[] };

function PortalForm({
  mode,
  portal,
  urlPrefix,
  onOpenChange,
  onPendingChange,
}: PortalFormDialogProps & { onPendingChange: (isPending: boolean) => void }) {
  const formId = useId();
  const router = useRouter();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<FormValues>(() => ({
    name: portal?.name ?? "",
    slug: portal?.slug ?? "",
    description: portal?.description ?? "",
    allowlistMode: portal?.allowlistMode ?? false,
    dropServerPrefix: portal?.dropServerPrefix ?? false,
    serverIds: [],
  }));
  // The slug follows the name until someone types in it (or always, once they clear it).
  const [isSlugEdited, setIsSlugEdited] = useState(mode === "edit");
  const [errors, setErrors] = useState<Record<string, string>>({});

  const set = <K extends keyof FormValues>(key: K, value: FormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setErrors((current) => {
      const next = { ...current };
      delete next[key];
      return next;
    });
  };

  const changes = (): UpdatePortalInput => {
    if (!portal) return {};
    const diff: UpdatePortalInput = {};
    if (values.name.trim() !== portal.name) diff.name = values.name;
    if (values.slug.trim().toLowerCase() !== portal.slug) diff.slug = values.slug;
    if (values.description.trim() !== portal.description) diff.description = values.description;
    if (values.allowlistMode !== portal.allowlistMode) diff.allowlistMode = values.allowlistMode;
    if (values.dropServerPrefix !== portal.dropServerPrefix) diff.dropServerPrefix = values.dropServerPrefix;
    return diff;
  };

  const mutation = useMutation({
    mutationFn: (body: CreatePortalInput | UpdatePortalInput) =>
      mode === "create" ? api<PortalView>("POST", "/portals", body) : api<PortalView>("PATCH", `/portals/${portal.id}`, body),
    onMutate: () => onPendingChange(true),
    onSettled: () => onPendingChange(false),
    onSuccess: async (saved) => {
      toast.success(mode === "create" ? `Portal “${saved.name}” created` : "Portal saved");
      queryClient.setQueryData(portalKeys.detail(saved.id), saved);
      await queryClient.invalidateQueries({ queryKey: portalKeys.all });
      router.refresh();
      onOpenChange(false);
    },
    onError: (error) => {
      if (!(error instanceof ApiError)) {
        toast.error("Something went wrong. Please try again.");
        return;
      }
      const fields = error.fieldMap();
      const mapped: Record<string, string> = {};
      for (const [field, message] of Object.entries(fields)) {
        mapped[field === "servers" || field.startsWith("serverIds") ? "serverIds" : field] ??= message;
      }
      // The slug is the only unique field here, whether or not the API names it.
      if (error.status === 409) mapped.slug = "Another portal already uses this slug";
      if (Object.keys(mapped).length) setErrors(mapped);
      else toast.error(error.message);
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    if (mode === "create") {
      const parsed = createPortalInput.safeParse(values);
      if (!parsed.success) return setErrors(zodFieldErrors(parsed.error));
      mutation.mutate(values);
      return;
    }
    const diff = changes();
    if (Object.keys(diff).length === 0) {
      onOpenChange(false);
      return;
    }
    const parsed = updatePortalInput.safeParse(diff);
    if (!parsed.success) return setErrors(zodFieldErrors(parsed.error));
    mutation.mutate(diff);
  };

  const previewSlug = values.slug.trim().toLowerCase() || "your-slug";
  const isSlugChanged = mode === "edit" && values.slug.trim().toLowerCase() !== portal.slug;
  const isTurningAllowlistOn = mode === "edit" && values.allowlistMode && !portal.allowlistMode;

  return (
    <form id={formId} onSubmit={submit} noValidate className="grid gap-4">
      <FormField label="Name" htmlFor={`${formId}-name`} error={errors.name} required>
        <Input
          autoFocus
          autoComplete="off"
          value={values.name}
          maxLength={100}
          onChange={(event) => {
            const name = event.target.value;
            setValues((v) => ({ ...v, name, slug: isSlugEdited ? v.slug : slugify(name) }));
            setErrors((current) => {
              const next = { ...current };
              delete next.name;
              if (!isSlugEdited) delete next.slug;
              return next;
            });
          }}
          placeholder="Engineering"
        />
      </FormField>

      <FormField
        label="Slug"
        htmlFor={`${formId}-slug`}
        error={errors.slug}
        required
        description={
          <>
            Clients connect to <span className="font-mono break-all text-foreground">{urlPrefix + previewSlug}</span>
          </>
        }
      >
        <Input
          autoComplete="off"
          spellCheck={false}
          className="font-mono"
          value={values.slug}
          maxLength={40}
          onChange={(event) => {
            setIsSlugEdited(mode === "edit" || event.target.value !== "");
            set("slug", event.target.value);
          }}
          placeholder="engineering"
        />
      </FormField>
      {isSlugChanged ? (
        <Alert variant="warning" title="The portal’s URL will change">
          Clients set up with the old URL stop working until they are pointed at the new one.
        </Alert>
      ) : null}

      <FormField label="Description" htmlFor={`${formId}-description`} error={errors.description} description="Optional. Who the portal is for.">
        <Textarea value={values.description} maxLength={1000} onChange={(event) => set("description", event.target.value)} />
      </FormField>

      <div className="flex items-start justify-between gap-4 rounded-lg border p-3">
        <div className="grid gap-1">
          <label htmlFor={`${formId}-allowlist`} className="text-sm leading-none font-medium">
            Allowlist mode
          </label>
          <p id={`${formId}-allowlist-help`} className="text-[0.8125rem] text-muted-foreground">
            {values.allowlistMode
              ? "On: tools that appear later (new upstream tools, servers added later) stay off until you enable them."
              : "Off: tools that appear later are offered at once. Turn on to approve every new tool first."}
            {isTurningAllowlistOn ? " Tools that are on today stay on." : null}
          </p>
        </div>
        <Switch
          id={`${formId}-allowlist`}
          checked={values.allowlistMode}
          onCheckedChange={(checked) => set("allowlistMode", checked)}
          aria-describedby={`${formId}-allowlist-help`}
          className="mt-0.5"
        />
      </div>

      <div className="flex items-start justify-between gap-4 rounded-lg border p-3">
        <div className="grid gap-1">
          <label htmlFor={`${formId}-prefix`} className="text-sm leading-none font-medium">
            Drop the server prefix of prompts
          </label>
          <p id={`${formId}-prefix-help`} className="text-[0.8125rem] text-muted-foreground">
            {values.dropServerPrefix
              ? "On: clients see each prompt by its server's name for it; where two servers offer a prompt by the same name, both keep the <server>_ prefix."
              : "Off: every prompt is named <server>_<prompt>. Turn on so a one-server portal looks like its server."}
          </p>
          <PrefixClashList clashes={portal?.prefixClashes} />
        </div>
        <Switch
          id={`${formId}-prefix`}
          checked={values.dropServerPrefix}
          onCheckedChange={(checked) => set("dropServerPrefix", checked)}
          aria-describedby={`${formId}-prefix-help`}
          className="mt-0.5"
        />
      </div>

      {mode === "create" ? (
        <ServerChecklist
          legend="Servers to include"
          selected={values.serverIds}
          onChange={(serverIds) => set("serverIds", serverIds)}
          error={errors.serverIds}
        />
      ) : null}

      {errors.form ? <Alert variant="destructive">{errors.form}</Alert> : null}

      <FormActions submitLabel={mode === "create" ? "Create portal" : "Save"} isPending={mutation.isPending} onCancel={() => onOpenChange(false)} />
    </form>
  );
}

/** Where dropping the prefix would clash, from what the registry last synced of the portal's servers. */
function PrefixClashList({ clashes }: { clashes: PortalView["prefixClashes"] | undefined }) {
  if (!clashes) return <p className="text-[0.8125rem] text-muted-foreground">Clashes are shown once the portal has servers.</p>;
  if (clashes.length === 0) return <p className="text-[0.8125rem] text-muted-foreground">No prompt name or resource URI is offered by two of this portal&apos;s servers: nothing would clash.</p>;
  return (
    <div className="grid gap-1 text-[0.8125rem]" data-testid="prefix-clashes">
      <p className="font-medium text-amber-700 dark:text-amber-400">Would clash without the prefix:</p>
      <ul className="list-disc pl-5 text-muted-foreground">
        {clashes.map((c) => (
          <li key={`${c.kind}:${c.name}`}>
            {c.kind === "prompt" ? "Prompt" : "Resource"} <code className="font-mono">{c.name}</code> from {c.servers.join(" and ")}
            {c.kind === "prompt" ? ": both keep the <server>_ prefix." : ": its URI is answered by " + c.servers[0] + "."}
          </li>
        ))}
      </ul>
    </div>
  );
}
