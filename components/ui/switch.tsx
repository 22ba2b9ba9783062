"use client";

import { cn } from "@/lib/utils";

type SwitchProps = Omit<React.ComponentProps<"button">, "onChange" | "value" | "role"> & {
  checked: boolean;
  onCheckedChange?: (checked: boolean) => void;
  /** When set, a hidden input posts "on" while checked, so the switch also works in plain forms. */
  name?: string;
  size?: "sm" | "default";
};

/** A toggle for settings that apply at once; a `<button>`, so Space and Enter work without extra code. */
export function Switch({ checked, onCheckedChange, name, size = "default", className, onClick, disabled, ...props }: SwitchProps) {
  return (
    <>
      <button
        type="button"
        role="switch"
        aria-checked={checked}
        data-state={checked ? "checked" : "unchecked"}
        data-slot="switch"
        disabled={disabled}
        onClick={(event) => {
          onClick?.(event);
          if (!event.defaultPrevented) onCheckedChange?.(!checked);
        }}
        className={cn(
          "peer inline-flex shrink-0 cursor-pointer items-center rounded-full border border-transparent shadow-xs transition-colors outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50 disabled:cursor-not-allowed disabled:opacity-50",
          "bg-input aria-checked:bg-primary dark:bg-input/80",
          size === "sm" ? "h-4 w-7" : "h-5 w-9",
          className,
        )}
        {...props}
      >
        <span
          aria-hidden
          className={cn(
            "pointer-events-none block rounded-full bg-background shadow-sm ring-0 transition-transform dark:bg-foreground",
            size === "sm" ? "size-3" : "size-4",
            checked ? (size === "sm" ? "translate-x-3.5" : "translate-x-[1.125rem]") : "translate-x-0.5",
          )}
        />
      </button>
      {name && checked ? <input type="hidden" name={name} value="on" /> : null}
    </>
  );
}
