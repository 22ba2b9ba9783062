"use client";

import { useId, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { portalKeys, toolKeys } from "@/lib/api/query-keys";
import { updatePortalToolInput, type PortalToolView, type UpdatePortalToolInput } from "@/lib/schemas/portal";
import type { ToolView } from "@/lib/schemas/tool";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { Textarea } from "@/components/ui/textarea";
import { zodFieldErrors } from "@/components/forms/field-errors";
import { FormActions } from "@/components/forms/form-actions";

type ToolEditDialogProps = {
  portalId: string;
  /** The tool being edited; null keeps the dialog closed. */
  tool: PortalToolView | null;
  onOpenChange: (open: boolean) => void;
};

export function ToolEditDialog({ portalId, tool, onOpenChange }: ToolEditDialogProps) {
  const [isPending, setIsPending] = useState(false);
  return (
    <Dialog
      open={tool !== null}
      onOpenChange={onOpenChange}
      title={tool ? `Edit tool ${tool.exposedName}` : "Edit tool"}
      description="How this portal presents the tool to MCP clients. The server itself is not changed."
      dismissible={!isPending}
      className="max-w-xl"
    >
      {tool ? <ToolEditForm key={tool.toolId} portalId={portalId} tool={tool} onOpenChange={onOpenChange} onPendingChange={setIsPending} /> : null}
    </Dialog>
  );
}

function ToolEditForm({
  portalId,
  tool,
  onOpenChange,
  onPendingChange,
}: {
  portalId: string;
  tool: PortalToolView;
  onOpenChange: (open: boolean) => void;
  onPendingChange: (isPending: boolean) => void;
}) {
  const formId = useId();
  const queryClient = useQueryClient();
  const [alias, setAlias] = useState(tool.alias ?? "");
  const [descriptionOverride, setDescriptionOverride] = useState(tool.descriptionOverride ?? "");
  const [errors, setErrors] = useState<Record<string, string>>({});
  const defaultName = `${tool.serverSlug}_${tool.name}`;

  // The portal view carries the override in place of the server's description; fetch the original to show it.
  const upstream = useQuery({
    queryKey: toolKeys.detail(tool.toolId),
    queryFn: () => api<ToolView>("GET", `/tools/${tool.toolId}`),
  });

  const save = useMutation({
    mutationFn: (body: UpdatePortalToolInput) => api<PortalToolView>("PATCH", `/portals/${portalId}/tools/${tool.toolId}`, body),
    onMutate: () => onPendingChange(true),
    onSettled: () => onPendingChange(false),
    onSuccess: async (saved) => {
      toast.success(`Saved ${saved.exposedName}`);
      queryClient.setQueryData<PortalToolView[]>(portalKeys.tools(portalId), (current) =>
        current?.map((t) => (t.toolId === saved.toolId ? saved : t)),
      );
      await queryClient.invalidateQueries({ queryKey: portalKeys.tools(portalId) });
      onOpenChange(false);
    },
    onError: (cause) => {
      if (!(cause instanceof ApiError)) {
        toast.error("Something went wrong. Please try again.");
        return;
      }
      const fields = cause.fieldMap();
      // 409 means another tool in this portal is already exposed under that name.
      if (cause.status === 409 && !fields.alias) fields.alias = cause.message;
      if (fields.alias || fields.descriptionOverride) setErrors(fields);
      else toast.error(cause.message);
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const body: UpdatePortalToolInput = {};
    const nextAlias = alias.trim() || null;
    const nextDescription = descriptionOverride.trim() || null;
    if (nextAlias !== tool.alias) body.alias = nextAlias;
    if (nextDescription !== tool.descriptionOverride) body.descriptionOverride = nextDescription;
    if (Object.keys(body).length === 0) {
      onOpenChange(false);
      return;
    }
    const parsed = updatePortalToolInput.safeParse(body);
    if (!parsed.success) {
      setErrors(zodFieldErrors(parsed.error));
      return;
    }
    save.mutate(body);
  };

  const clear = (field: string) =>
    setErrors((current) => {
      const next = { ...current };
      delete next[field];
      return next;
    });

  return (
    <form onSubmit={submit} noValidate className="grid gap-4">
      <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 rounded-lg border bg-muted/30 px-3 py-2 text-sm">
        <dt className="text-muted-foreground">Server</dt>
        <dd className="font-mono">{tool.serverSlug}</dd>
        <dt className="text-muted-foreground">Upstream name</dt>
        <dd className="font-mono break-all">{tool.name}</dd>
      </dl>

      <FormField
        label="Alias"
        htmlFor={`${formId}-alias`}
        error={errors.alias}
        description={
          <>
            The name clients see. Letters, digits, <code className="font-mono">_ . -</code>, at most 64 characters. Leave empty for{" "}
            <code className="font-mono break-all">{defaultName}</code>.
          </>
        }
      >
        <Input
          autoFocus
          autoComplete="off"
          spellCheck={false}
          className="font-mono"
          value={alias}
          placeholder={defaultName}
          onChange={(event) => {
            setAlias(event.target.value);
            clear("alias");
          }}
        />
      </FormField>

      <FormField
        label="Description override"
        htmlFor={`${formId}-description`}
        error={errors.descriptionOverride}
        description="Replaces the server’s description for clients of this portal, e.g. to steer a model. Leave empty to use the server’s."
      >
        <Textarea
          value={descriptionOverride}
          maxLength={2000}
          rows={4}
          placeholder={upstream.data?.description ?? undefined}
          onChange={(event) => {
            setDescriptionOverride(event.target.value);
            clear("descriptionOverride");
          }}
        />
      </FormField>

      <div className="grid gap-1 text-sm">
        <span className="font-medium">Server’s description</span>
        {upstream.isPending ? (
          <Skeleton className="h-10 w-full" />
        ) : upstream.isError ? (
          <p className="text-muted-foreground">Could not load it ({upstream.error.message}).</p>
        ) : (
          <p className="max-h-32 overflow-y-auto rounded-md border bg-muted/30 px-3 py-2 whitespace-pre-wrap text-muted-foreground">
            {upstream.data.description || "The server gives no description."}
          </p>
        )}
      </div>

      <FormActions submitLabel="Save" isPending={save.isPending} onCancel={() => onOpenChange(false)} />
    </form>
  );
}
