"use client";

import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { tokenKeys } from "@/lib/api/query-keys";
import { roleLabels, type DashboardRole, type TokenScope } from "@/lib/auth/permissions";
import { createTokenInput, type CreateTokenInput, type TokenView } from "@/lib/schemas/token";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Checkbox } from "@/components/ui/checkbox";
import { CopyButton } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { fieldErrorsFrom, zodFieldErrors } from "@/components/forms/field-errors";
import { FormActions } from "@/components/forms/form-actions";

type Errors = Partial<Record<"name" | "scopes" | "expiresInDays" | "form", string>>;

const SCOPE_TEXT: Record<TokenScope, string> = {
  read: "Read: list and read servers, portals, roles and whatever else your role may read.",
  write: "Write: also create, change and delete, as far as your role allows.",
};

export function CreateTokenDialog({
  open,
  onOpenChange,
  role,
  canWriteScope,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  role: DashboardRole;
  canWriteScope: boolean;
}) {
  const queryClient = useQueryClient();
  const formId = useId();
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<TokenScope[]>(["read"]);
  const [days, setDays] = useState("90");
  const [errors, setErrors] = useState<Errors>({});
  const [created, setCreated] = useState<(TokenView & { token: string }) | null>(null);

  const reset = () => {
    setName("");
    setScopes(["read"]);
    setDays("90");
    setErrors({});
  };

  const create = useMutation({
    mutationFn: (input: CreateTokenInput) => api<TokenView & { token: string }>("POST", "/tokens", input),
    onSuccess: async (token) => {
      reset();
      onOpenChange(false);
      setCreated(token);
      await queryClient.invalidateQueries({ queryKey: tokenKeys.all });
    },
    onError: (error) => {
      setErrors(fieldErrorsFrom(error));
    },
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const input = { name, scopes, expiresInDays: days.trim() === "" ? undefined : Number(days) };
    const parsed = createTokenInput.safeParse(input);
    if (!parsed.success) {
      const next: Errors = zodFieldErrors(parsed.error);
      if (next.expiresInDays && Number.isNaN(input.expiresInDays)) next.expiresInDays = "Enter a number of days";
      setErrors(next);
      return;
    }
    create.mutate(parsed.data);
  };

  const close = (next: boolean) => {
    if (!next) reset();
    onOpenChange(next);
  };

  const id = (s: string) => `${formId}-${s}`;
  const offered: TokenScope[] = canWriteScope ? ["read", "write"] : ["read"];

  return (
    <>
      <Dialog
        open={open}
        onOpenChange={close}
        title="Create API token"
        description="For scripts and CI calling the admin API, sent as “Authorization: Bearer ptk_…”."
        dismissible={!create.isPending}
      >
        <form onSubmit={submit} noValidate className="grid gap-4">
          {errors.form ? <Alert variant="destructive">{errors.form}</Alert> : null}
          <FormField label="Name" htmlFor={id("name")} required error={errors.name} description="What it is for, e.g. “nightly cost report”.">
            <Input
              autoComplete="off"
              value={name}
              onChange={(e) => {
                setName(e.target.value);
                setErrors((x) => ({ ...x, name: undefined }));
              }}
            />
          </FormField>
          <fieldset className="grid gap-2" aria-describedby={errors.scopes ? id("scopes-error") : id("scopes-help")}>
            <legend className={cn("mb-2 text-sm font-medium", errors.scopes && "text-destructive-strong")}>Scopes</legend>
            {offered.map((scope) => (
              <Label key={scope} htmlFor={id(`scope-${scope}`)} className="items-start font-normal leading-snug">
                <Checkbox
                  id={id(`scope-${scope}`)}
                  checked={scopes.includes(scope)}
                  onChange={(e) => {
                    setScopes((s) => (e.target.checked ? [...s, scope] : s.filter((x) => x !== scope)));
                    setErrors((x) => ({ ...x, scopes: undefined }));
                  }}
                />
                <span>{SCOPE_TEXT[scope]}</span>
              </Label>
            ))}
            <p id={id("scopes-help")} className="text-[0.8125rem] text-muted-foreground">
              A token never exceeds its owner&apos;s role: it can do at most what you can do as {roleLabels[role].toLowerCase()}, and less if
              your role changes.
              {canWriteScope ? null : " Your role only reads, so tokens you create are read-only."}
            </p>
            {errors.scopes ? (
              <p id={id("scopes-error")} className="text-[0.8125rem] font-medium text-destructive-strong">
                {errors.scopes}
              </p>
            ) : null}
          </fieldset>
          <FormField label="Expires in (days)" htmlFor={id("days")} required error={errors.expiresInDays} description="From 1 to 365 days.">
            <Input
              type="number"
              inputMode="numeric"
              min={1}
              max={365}
              className="w-32"
              value={days}
              onChange={(e) => {
                setDays(e.target.value);
                setErrors((x) => ({ ...x, expiresInDays: undefined }));
              }}
            />
          </FormField>
          <FormActions submitLabel="Create token" isPending={create.isPending} onCancel={() => close(false)} />
        </form>
      </Dialog>

      <Dialog
        open={created !== null}
        onOpenChange={(next) => {
          if (!next) {
            setCreated(null);
            if (created) toast.success(`Token “${created.name}” created`);
          }
        }}
        title="Copy your new token"
        description={created ? `“${created.name}”, ${created.scopes.join(" + ")}.` : undefined}
        footer={
          <Button
            onClick={() => {
              if (created) toast.success(`Token “${created.name}” created`);
              setCreated(null);
            }}
          >
            Done
          </Button>
        }
      >
        {created ? (
          <div className="grid gap-3">
            <Alert variant="warning" title="You will not see this token again">
              Portico keeps only a hash of it. Copy it now and store it in a secret manager; if you lose it, revoke it and create a
              new one.
            </Alert>
            <div className="flex items-center gap-2">
              <Input
                readOnly
                aria-label="New API token"
                value={created.token}
                className="font-mono text-xs"
                onFocus={(e) => e.currentTarget.select()}
              />
              <CopyButton value={created.token} label="Copy token" variant="outline" />
            </div>
          </div>
        ) : null}
      </Dialog>
    </>
  );
}
