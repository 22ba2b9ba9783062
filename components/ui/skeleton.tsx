import { cn } from "@/lib/utils";

export function Skeleton({ className, ...props }: React.ComponentProps<"div">) {
  return <div data-slot="skeleton" aria-hidden className={cn("animate-pulse rounded-md bg-muted", className)} {...props} />;
}

/** `count` full-width placeholder rows, e.g. for a list that is loading. */
export function SkeletonRows({ count }: { count: number }) {
  return (
    <div className="grid gap-2" aria-busy>
      {Array.from({ length: count }, (_, i) => (
        <Skeleton key={i} className="h-9 w-full" />
      ))}
    </div>
  );
}
