import { CircleCheck, CircleExclamationPoint, Info, TriangleExclamationPoint } from "lucide-react";
import { cva, type VariantProps } from "class-variance-authority";

import { cn } from "@/lib/utils";

const alertVariants = cva(
  "relative grid w-full grid-cols-[auto_1fr] items-start gap-x-3 gap-y-1 rounded-lg border px-4 py-3 text-sm [&>svg]:mt-0.5 [&>svg]:size-4",
  {
    variants: {
      variant: {
        info: "border-info/25 bg-info/5 text-foreground [&>svg]:text-info-strong",
        success: "border-success/25 bg-success/5 text-foreground [&>svg]:text-success-strong",
        warning: "border-warning/40 bg-warning/10 text-foreground [&>svg]:text-warning-strong",
        destructive: "border-destructive/30 bg-destructive/5 text-foreground [&>svg]:text-destructive-strong",
      },
    },
    defaultVariants: { variant: "info" },
  },
);

const icons = {
  info: Info,
  success: CircleCheck,
  warning: TriangleExclamationPoint,
  destructive: CircleExclamationPoint,
} as const;

type AlertProps = Omit<React.ComponentProps<"div">, "title"> &
  VariantProps<typeof alertVariants> & {
    title?: React.ReactNode;
    /** Buttons or links under the text. */
    action?: React.ReactNode;
  };

/** A callout that stays on the page; use a toast for something that just happened. */
export function Alert({ className, variant, title, action, children, ...props }: AlertProps) {
  const Icon = icons[variant ?? "info"];
  const isUrgent = variant === "destructive" || variant === "warning";
  return (
    <div
      data-slot="alert"
      role={isUrgent ? "alert" : "status"}
      className={cn(alertVariants({ variant }), className)}
      {...props}
    >
      <Icon aria-hidden />
      <div className="col-start-2 grid gap-1">
        {title ? <div className="leading-5 font-medium">{title}</div> : null}
        {children ? <div className="text-muted-foreground [&_p]:leading-relaxed">{children}</div> : null}
        {action ? <div className="mt-2 flex flex-wrap gap-2">{action}</div> : null}
      </div>
    </div>
  );
}
