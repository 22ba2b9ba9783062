"use client";

import { useState } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";

type ConfirmDialogProps = {
  open: boolean;
  onOpenChange: (open: boolean) => void;
  title: React.ReactNode;
  description?: React.ReactNode;
  /** Extra body, e.g. what exactly will be deleted. */
  children?: React.ReactNode;
  confirmLabel?: string;
  cancelLabel?: string;
  /** "destructive" (default) for deletes and revocations; "default" for reversible actions. */
  variant?: "destructive" | "default";
  /** The dialog closes when this resolves; if it throws, the message is shown and the dialog stays open. */
  onConfirm: () => Promise<void> | void;
};

export function ConfirmDialog({
  open,
  onOpenChange,
  title,
  description,
  children,
  confirmLabel = "Confirm",
  cancelLabel = "Cancel",
  variant = "destructive",
  onConfirm,
}: ConfirmDialogProps) {
  const [isPending, setIsPending] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const handleOpenChange = (next: boolean) => {
    if (!next) setError(null);
    onOpenChange(next);
  };

  const confirm = async () => {
    setIsPending(true);
    setError(null);
    try {
      await onConfirm();
      onOpenChange(false);
    } catch (cause) {
      setError(cause instanceof Error && cause.message ? cause.message : "Something went wrong. Please try again.");
    } finally {
      setIsPending(false);
    }
  };

  return (
    <Dialog
      open={open}
      onOpenChange={handleOpenChange}
      title={title}
      description={description}
      dismissible={!isPending}
      footer={
        <>
          <Button variant="outline" disabled={isPending} onClick={() => handleOpenChange(false)}>
            {cancelLabel}
          </Button>
          <Button variant={variant} loading={isPending} onClick={confirm}>
            {confirmLabel}
          </Button>
        </>
      }
    >
      {children}
      {error ? (
        <Alert variant="destructive" title="That did not work">
          {error}
        </Alert>
      ) : null}
    </Dialog>
  );
}
