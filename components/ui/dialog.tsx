"use client";

import { useEffect, useId, useRef } from "react";
import { X } from "lucide-react";

import { cn } from "@/lib/utils";

export type DialogProps = {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: React.ReactNode;
  description?: React.ReactNode;
  children?: React.ReactNode;
  /** Buttons, right-aligned under the body (stacked on narrow screens). */
  footer?: React.ReactNode;
  /** False while an operation runs: Esc, the backdrop and the close button then do nothing. */
  dismissible?: boolean;
  className?: string;
};

/**
 * A modal on the native `<dialog>`: `showModal()` gives the focus trap, the inert background, Esc
 * and focus restoration from the browser itself. `open` stays the single source of truth; the
 * element only mirrors it.
 */
export function Dialog({ open, onOpenChange, title, description, children, footer, dismissible = true, className }: DialogProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const isPointerDownOnBackdrop = useRef(false);
  const titleId = useId();
  const descriptionId = useId();

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      dialog.showModal();
      // showModal() focuses the first focusable element, and Chromium counts a scrollable form as
      // one: a form dialog would open with its <form> focused. The first field is what people type in.
      const active = document.activeElement;
      if (!(active instanceof HTMLElement) || !active.matches("input, select, textarea, button, a[href]")) {
        dialog.querySelector<HTMLElement>("input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled])")?.focus();
      }
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);

  const requestClose = () => {
    if (dismissible) onOpenChange(false);
  };

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      aria-describedby={description ? descriptionId : undefined}
      onCancel={(event) => {
        // Esc: the parent decides, so the element never closes behind React's back.
        event.preventDefault();
        requestClose();
      }}
      onClose={() => {
        if (open) onOpenChange(false);
      }}
      // The dialog element itself is only hit on the backdrop: the panel inside covers the rest.
      // Both ends of the click must be there, so selecting text and releasing outside keeps it open.
      onPointerDown={(event) => {
        isPointerDownOnBackdrop.current = event.target === event.currentTarget;
      }}
      onClick={(event) => {
        if (isPointerDownOnBackdrop.current && event.target === event.currentTarget) requestClose();
        isPointerDownOnBackdrop.current = false;
      }}
      className={cn(
        "fixed inset-0 m-auto w-[calc(100%-2rem)] max-w-lg bg-transparent p-0 text-foreground backdrop:bg-slate-950/50 backdrop:backdrop-blur-[2px] open:animate-dialog-in",
        className,
      )}
    >
      <div className="relative grid gap-4 rounded-xl border bg-popover p-6 text-popover-foreground shadow-lg">
        <div className="flex flex-col gap-1.5 pr-8 text-left">
          <h2 id={titleId} className="text-lg leading-tight font-semibold">
            {title}
          </h2>
          {description ? (
            <p id={descriptionId} className="text-sm text-muted-foreground">
              {description}
            </p>
          ) : null}
        </div>
        {children}
        {footer ? <div className="flex flex-col-reverse gap-2 sm:flex-row sm:justify-end">{footer}</div> : null}
        <button
          type="button"
          aria-label="Close"
          disabled={!dismissible}
          onClick={requestClose}
          className="absolute top-4 right-4 inline-flex size-7 cursor-pointer items-center justify-center rounded-md text-muted-foreground transition-colors outline-none hover:bg-accent hover:text-accent-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50 disabled:pointer-events-none disabled:opacity-50"
        >
          <X className="size-4" aria-hidden />
        </button>
      </div>
    </dialog>
  );
}
