import { Badge } from "@/components/ui/badge";
import { cn } from "@/lib/utils";
import { STATUS_META, type ServerStatus } from "@/components/servers/format";

const DOT: Record<ServerStatus, string> = {
  waiting: "bg-info",
  ready: "bg-success",
  error: "bg-destructive",
  stale: "bg-warning",
};

export function ServerStatusBadge({ status, className }: { status: ServerStatus; className?: string }) {
  const meta = STATUS_META[status];
  return (
    <Badge variant={meta.variant} title={meta.hint} className={className}>
      <span aria-hidden className={cn("size-1.5 rounded-full", DOT[status])} />
      {meta.label}
    </Badge>
  );
}
