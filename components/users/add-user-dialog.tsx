"use client";

import { useId, useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { userKeys } from "@/lib/api/query-keys";
import { dashboardRoles, roleLabels, type DashboardRole } from "@/lib/auth/permissions";
import { createUserInput, type CreateUserInput, type UserView } from "@/lib/schemas/user";
import { Alert } from "@/components/ui/alert";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { fieldErrorsFrom, zodFieldErrors } from "@/components/forms/field-errors";
import { FormActions } from "@/components/forms/form-actions";

type Errors = Partial<Record<keyof CreateUserInput | "form", string>>;

const EMPTY = { email: "", name: "", role: "viewer" as DashboardRole, password: "" };

export function AddUserDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const formId = useId();
  const [values, setValues] = useState(EMPTY);
  const [errors, setErrors] = useState<Errors>({});

  const create = useMutation({
    mutationFn: (input: CreateUserInput) => api<UserView>("POST", "/users", input),
    onSuccess: async (user) => {
      toast.success(`${user.name} can now sign in as ${roleLabels[user.role].toLowerCase()}`);
      await queryClient.invalidateQueries({ queryKey: userKeys.all });
      setValues(EMPTY);
      onOpenChange(false);
    },
    onError: (error) => {
      setErrors(fieldErrorsFrom(error));
    },
  });

  const set = (key: keyof typeof EMPTY, value: string) => {
    setValues((v) => ({ ...v, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined, form: undefined }));
  };

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const parsed = createUserInput.safeParse(values);
    if (!parsed.success) {
      setErrors(zodFieldErrors(parsed.error));
      return;
    }
    create.mutate(parsed.data);
  };

  const close = (next: boolean) => {
    if (!next) {
      setErrors({});
      setValues(EMPTY);
    }
    onOpenChange(next);
  };

  const id = (s: string) => `${formId}-${s}`;
  return (
    <Dialog
      open={open}
      onOpenChange={close}
      title="Add user"
      description="A local account with a password. People who sign in with company SSO get their account on first sign-in."
      dismissible={!create.isPending}
    >
      <form id={id("form")} onSubmit={submit} noValidate className="grid gap-4">
        {errors.form ? <Alert variant="destructive">{errors.form}</Alert> : null}
        <FormField label="Email" htmlFor={id("email")} required error={errors.email}>
          <Input type="email" autoComplete="off" value={values.email} onChange={(e) => set("email", e.target.value)} />
        </FormField>
        <FormField label="Name" htmlFor={id("name")} required error={errors.name}>
          <Input autoComplete="off" value={values.name} onChange={(e) => set("name", e.target.value)} />
        </FormField>
        <FormField
          label="Dashboard role"
          htmlFor={id("role")}
          required
          error={errors.role}
          description="What they may do in this dashboard. Portal access is decided by portal roles."
        >
          <Select
            value={values.role}
            onChange={(e) => set("role", e.target.value)}
            options={dashboardRoles.map((r) => ({ value: r, label: roleLabels[r] }))}
          />
        </FormField>
        <FormField
          label="Initial password"
          htmlFor={id("password")}
          required
          error={errors.password}
          description="At least 12 characters. Share it safely; they can add two-factor authentication once signed in."
        >
          <Input type="password" autoComplete="new-password" value={values.password} onChange={(e) => set("password", e.target.value)} />
        </FormField>
        <FormActions submitLabel="Add user" isPending={create.isPending} onCancel={() => close(false)} />
      </form>
    </Dialog>
  );
}
