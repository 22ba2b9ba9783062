import { LoaderCircle } from "lucide-react";

import { cn } from "@/lib/utils";

type SpinnerProps = React.ComponentProps<"svg"> & {
  /** Announced to screen readers; pass `null` when the spinner sits inside something already labelled. */
  label?: string | null;
};

export function Spinner({ className, label = "Loading", ...props }: SpinnerProps) {
  return (
    <LoaderCircle
      role={label ? "status" : undefined}
      aria-label={label ?? undefined}
      aria-hidden={label ? undefined : true}
      className={cn("size-4 shrink-0 animate-spin", className)}
      {...props}
    />
  );
}
