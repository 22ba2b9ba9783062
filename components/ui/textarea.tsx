import { cn } from "@/lib/utils";
import { controlClassName } from "@/components/ui/input";

export function Textarea({ className, ...props }: React.ComponentProps<"textarea">) {
  return (
    <textarea
      data-slot="textarea"
      className={cn(controlClassName, "field-sizing-content min-h-20 px-3 py-2", className)}
      {...props}
    />
  );
}
