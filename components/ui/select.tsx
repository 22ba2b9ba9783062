import { ChevronDown } from "lucide-react";

import { cn } from "@/lib/utils";
import { controlClassName } from "@/components/ui/input";

export type SelectOption = { value: string; label: string; disabled?: boolean };

type SelectProps = React.ComponentProps<"select"> & {
  /** Rendered as `<option>`s before any children. */
  options?: readonly SelectOption[];
  /** An empty-valued first option, e.g. "All statuses" or "Choose a server…". */
  placeholder?: string;
  /** Classes for the wrapper, which carries the width; `className` goes to the `<select>`. */
  wrapperClassName?: string;
};

/** A native `<select>`: keyboard, screen reader and mobile pickers come for free. */
export function Select({ className, wrapperClassName, options, placeholder, children, ...props }: SelectProps) {
  return (
    <div className={cn("relative w-full", wrapperClassName)}>
      <select
        data-slot="select"
        className={cn(controlClassName, "h-9 cursor-pointer appearance-none py-1 pr-9 pl-3", className)}
        {...props}
      >
        {placeholder !== undefined ? <option value="">{placeholder}</option> : null}
        {options?.map((option) => (
          <option key={option.value} value={option.value} disabled={option.disabled}>
            {option.label}
          </option>
        ))}
        {children}
      </select>
      <ChevronDown
        aria-hidden
        className="pointer-events-none absolute top-1/2 right-3 size-4 -translate-y-1/2 text-muted-foreground"
      />
    </div>
  );
}
