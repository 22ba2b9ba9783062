import { cn } from "@/lib/utils";
import { CopyButton } from "@/components/ui/copy-button";

type CodeBlockProps = {
  code: string;
  /** Shown in the header bar, e.g. "json", "bash" or a file name. */
  title?: string;
  /** Hide the copy button, e.g. for output that is not meant to be pasted. */
  isCopyable?: boolean;
  /** Wrap long lines instead of scrolling sideways. */
  wrap?: boolean;
  className?: string;
};

export function CodeBlock({ code, title, isCopyable = true, wrap = false, className }: CodeBlockProps) {
  return (
    <div data-slot="code-block" className={cn("group relative overflow-hidden rounded-lg border bg-muted/50", className)}>
      {title ? (
        <div className="flex h-9 items-center justify-between border-b bg-muted/60 pr-1 pl-3">
          <span className="font-mono text-xs text-muted-foreground">{title}</span>
          {isCopyable ? <CopyButton value={code} aria-label={`Copy ${title}`} /> : null}
        </div>
      ) : null}
      <pre
        tabIndex={0}
        className={cn(
          "overflow-x-auto p-4 font-mono text-[0.8125rem] leading-relaxed outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50 focus-visible:ring-inset",
          wrap && "break-all whitespace-pre-wrap",
          !title && isCopyable && "pr-12",
        )}
      >
        <code>{code}</code>
      </pre>
      {!title && isCopyable ? (
        <CopyButton value={code} className="absolute top-2 right-2 bg-muted/80 backdrop-blur-sm" />
      ) : null}
    </div>
  );
}
