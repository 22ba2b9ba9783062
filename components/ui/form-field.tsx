import { cloneElement, isValidElement } from "react";

import { cn } from "@/lib/utils";
import { Label } from "@/components/ui/label";

type ControlProps = {
  id?: string;
  "aria-describedby"?: string;
  "aria-invalid"?: boolean | "true" | "false";
  "aria-required"?: boolean;
};

type FormFieldProps = {
  label: React.ReactNode;
  /** The control's id: the label points at it, and the description and error ids derive from it. */
  htmlFor: string;
  /** One message, or the list a zod `flatten().fieldErrors` entry holds (the first is shown). */
  error?: string | readonly string[] | null;
  description?: React.ReactNode;
  required?: boolean;
  className?: string;
  /** A single control element (Input, Select, Textarea…); it receives id and the aria wiring. */
  children: React.ReactNode;
};

/**
 * Label, control, help text and error in one place. The control gets `aria-describedby` for the
 * description and the error and `aria-invalid` when there is an error, so screen readers read the
 * message when the field is focused, not only sighted users.
 */
export function FormField({ label, htmlFor, error, description, required = false, className, children }: FormFieldProps) {
  const message = typeof error === "string" ? error : error?.[0];
  const descriptionId = `${htmlFor}-description`;
  const errorId = `${htmlFor}-error`;

  let control = children;
  if (isValidElement<ControlProps>(children)) {
    const describedBy = [children.props["aria-describedby"], description ? descriptionId : null, message ? errorId : null]
      .filter(Boolean)
      .join(" ");
    control = cloneElement(children, {
      id: children.props.id ?? htmlFor,
      "aria-describedby": describedBy || undefined,
      "aria-invalid": message ? true : children.props["aria-invalid"],
      "aria-required": required || children.props["aria-required"] || undefined,
    });
  }

  return (
    <div data-slot="form-field" data-invalid={message ? "" : undefined} className={cn("grid gap-2", className)}>
      <Label htmlFor={htmlFor} className={cn(message && "text-destructive-strong")}>
        {label}
        {required ? (
          <span aria-hidden className="-ml-1 text-destructive-strong">
            *
          </span>
        ) : null}
      </Label>
      {control}
      {description ? (
        <p id={descriptionId} className="text-[0.8125rem] text-muted-foreground">
          {description}
        </p>
      ) : null}
      <p id={errorId} aria-live="polite" className={cn("text-[0.8125rem] font-medium text-destructive-strong", !message && "hidden")}>
        {message}
      </p>
    </div>
  );
}
