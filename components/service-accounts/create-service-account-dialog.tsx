"use client";

import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";

import { api } from "@/lib/api/client";
import { roleKeys, serviceAccountKeys } from "@/lib/api/query-keys";
import {
  createServiceAccountInput,
  SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS,
  type CreateServiceAccountInput,
  type ServiceAccountWithSecret,
} from "@/lib/schemas/service-account";
import { Alert } from "@/components/ui/alert";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { fieldErrorsFrom, zodFieldErrors, type FieldErrors } from "@/components/forms/field-errors";
import { FormActions } from "@/components/forms/form-actions";
import type { RoleOption } from "@/components/service-accounts/format";

export function CreateServiceAccountDialog({
  open,
  onOpenChange,
  roles,
  onCreated,
}: {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  roles: readonly RoleOption[];
  /** Receives the new account with its secret, to be shown once. */
  onCreated: (account: ServiceAccountWithSecret) => void;
}) {
  const queryClient = useQueryClient();
  const formId = useId();
  const [name, setName] = useState("");
  const [roleId, setRoleId] = useState("");
  const [days, setDays] = useState(String(SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS));
  const [errors, setErrors] = useState<FieldErrors>({});

  const reset = () => {
    setName("");
    setRoleId("");
    setDays(String(SERVICE_ACCOUNT_DEFAULT_EXPIRY_DAYS));
    setErrors({});
  };

  const create = useMutation({
    mutationFn: (input: CreateServiceAccountInput) => api<ServiceAccountWithSecret>("POST", "/service-accounts", input),
    onSuccess: async (account) => {
      reset();
      onOpenChange(false);
      onCreated(account);
      await Promise.all([serviceAccountKeys.all, roleKeys.all].map((queryKey) => queryClient.invalidateQueries({ queryKey })));
    },
    onError: (error) => setErrors(fieldErrorsFrom(error)),
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const input = { name, portalRoleId: roleId || null, expiresInDays: days.trim() === "" ? undefined : Number(days) };
    const parsed = createServiceAccountInput.safeParse(input);
    if (!parsed.success) {
      const next = zodFieldErrors(parsed.error);
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
  const clear = (field: string) => setErrors((x) => ({ ...x, [field]: "" }));

  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title="Create service account"
      description="For automations (CI checks, nightly reports): an OAuth client that gets portal tokens with the client-credentials grant."
      dismissible={!create.isPending}
    >
      <form onSubmit={submit} noValidate className="grid gap-4">
        {errors.form ? <Alert variant="destructive">{errors.form}</Alert> : null}
        <FormField label="Name" htmlFor={id("name")} required error={errors.name || undefined} description="What it is for, e.g. “nightly cost report”.">
          <Input
            autoComplete="off"
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              clear("name");
            }}
          />
        </FormField>
        <FormField
          label="Portal role"
          htmlFor={id("role")}
          error={errors.portalRoleId || undefined}
          description="The portals, servers and tools it may use. Without a role, every call is denied."
        >
          <Select
            value={roleId}
            placeholder="No role"
            options={roles.map((r) => ({ value: r.id, label: r.name }))}
            onChange={(e) => {
              setRoleId(e.target.value);
              clear("portalRoleId");
            }}
          />
        </FormField>
        <FormField label="Expires in (days)" htmlFor={id("days")} required error={errors.expiresInDays || undefined} description="From 1 to 365 days; 90 by default.">
          <Input
            type="number"
            inputMode="numeric"
            min={1}
            max={365}
            className="w-32"
            value={days}
            onChange={(e) => {
              setDays(e.target.value);
              clear("expiresInDays");
            }}
          />
        </FormField>
        <FormActions submitLabel="Create service account" isPending={create.isPending} onCancel={() => close(false)} />
      </form>
    </Dialog>
  );
}
