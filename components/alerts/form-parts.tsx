"use client";

import { useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { toast } from "sonner";

import { ApiError } from "@/lib/api/client";
import { severities } from "@/lib/alerts/rules";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";

/**
 * The pieces the alert rule and channel forms share: a dialog with Cancel and a submit button, a
 * mutation that puts the API's field errors beside their fields, a labelled text field, and the
 * severity picker.
 */

/** A field's error, or the first error of anything under it (`params.cidrs.0` for `params.cidrs`). */
export function errorFor(errors: Record<string, string>, field: string): string | undefined {
  return errors[field] ?? Object.entries(errors).find(([f]) => f.startsWith(`${field}.`))?.[1];
}

/** Runs `fn`; on a 422 the errors land in `errors` by field, and every failure is a toast. */
export function useFormMutation<T>(fn: () => Promise<T>, onDone: (result: T) => void) {
  const [errors, setErrors] = useState<Record<string, string>>({});
  const mutation = useMutation({
    mutationFn: fn,
    onSuccess: onDone,
    onError: (error) => {
      if (error instanceof ApiError) setErrors(error.fieldMap());
      toast.error(error.message);
    },
  });
  return { mutation, errors };
}

export function FormDialog({
  title,
  description,
  submitLabel = "Save",
  isPending,
  onClose,
  onSubmit,
  children,
}: {
  title: string;
  description?: string;
  submitLabel?: string;
  isPending: boolean;
  onClose: () => void;
  onSubmit: () => void;
  children: React.ReactNode;
}) {
  return (
    <Dialog
      open
      onOpenChange={(open) => (open ? undefined : onClose())}
      title={title}
      description={description}
      footer={
        <>
          <Button variant="outline" onClick={onClose}>
            Cancel
          </Button>
          <Button disabled={isPending} onClick={onSubmit}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <div className="grid gap-3">{children}</div>
    </Dialog>
  );
}

type TextFieldProps = {
  id: string;
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  description?: React.ReactNode;
  required?: boolean;
} & Pick<React.ComponentProps<typeof Input>, "type" | "inputMode" | "placeholder">;

export function TextField({ id, label, value, onChange, error, description, required, ...input }: TextFieldProps) {
  return (
    <FormField label={label} htmlFor={id} error={error} description={description} required={required}>
      <Input id={id} value={value} onChange={(e) => onChange(e.target.value)} {...input} />
    </FormField>
  );
}

export function SeveritySelect({ id, label, value, onChange, error }: { id: string; label: string; value: string; onChange: (value: string) => void; error?: string }) {
  return (
    <FormField label={label} htmlFor={id} error={error}>
      <Select id={id} value={value} onChange={(e) => onChange(e.target.value)} options={severities.map((v) => ({ value: v, label: v }))} />
    </FormField>
  );
}
