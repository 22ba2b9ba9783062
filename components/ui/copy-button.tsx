"use client";

import { useEffect, useRef, useState } from "react";
import { Check, Copy } from "lucide-react";
import { toast } from "sonner";

import { cn } from "@/lib/utils";
import { Button, type ButtonProps } from "@/components/ui/button";

/**
 * `navigator.clipboard` exists only in secure contexts, and a self-hosted portal is often first
 * opened over plain http on a LAN address, so fall back to the old selection-based copy there.
 */
async function writeClipboard(text: string): Promise<void> {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const textarea = document.createElement("textarea");
  textarea.value = text;
  textarea.setAttribute("readonly", "");
  textarea.style.position = "fixed";
  textarea.style.opacity = "0";
  document.body.appendChild(textarea);
  textarea.select();
  try {
    if (!document.execCommand("copy")) throw new Error("copy command refused");
  } finally {
    textarea.remove();
  }
}

type CopyButtonProps = Omit<ButtonProps, "onClick" | "value"> & {
  value: string;
  /** Visible text; without it the button is icon-only and `aria-label` describes it. */
  label?: string;
};

export function CopyButton({ value, label, className, variant = "ghost", size, "aria-label": ariaLabel, ...props }: CopyButtonProps) {
  const [hasCopied, setHasCopied] = useState(false);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  useEffect(() => () => clearTimeout(timer.current), []);

  const copy = async () => {
    try {
      await writeClipboard(value);
      setHasCopied(true);
      clearTimeout(timer.current);
      timer.current = setTimeout(() => setHasCopied(false), 2000);
    } catch {
      toast.error("Could not copy to the clipboard. Select the text and copy it by hand.");
    }
  };

  const Icon = hasCopied ? Check : Copy;
  return (
    <Button
      type="button"
      variant={variant}
      size={size ?? (label ? "sm" : "icon")}
      onClick={copy}
      aria-label={label ? undefined : (ariaLabel ?? (hasCopied ? "Copied" : "Copy to clipboard"))}
      className={cn(!label && size === undefined && "size-8", className)}
      {...props}
    >
      <Icon aria-hidden className={cn(hasCopied && "text-success-strong")} />
      {label ? (hasCopied ? "Copied" : label) : null}
      <span className="sr-only" aria-live="polite">
        {hasCopied ? "Copied to clipboard" : ""}
      </span>
    </Button>
  );
}
