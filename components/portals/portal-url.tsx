import { cn } from "@/lib/utils";
import { CopyButton } from "@/components/ui/copy-button";

/** The portal's address in a code block with a copy button: the one thing people come here for. */
export function PortalUrl({ url, className }: { url: string; className?: string }) {
  return (
    <div
      data-slot="portal-url"
      className={cn("flex max-w-full min-w-0 items-center gap-1 rounded-lg border bg-muted/50 py-1 pr-1 pl-3", className)}
    >
      <code className="min-w-0 flex-1 truncate font-mono text-[0.8125rem]" title={url}>
        {url}
      </code>
      <CopyButton value={url} aria-label="Copy portal URL" />
    </div>
  );
}
