import type { EntityChange } from "@/lib/config/diff";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { TextWithTimes } from "@/components/ui/local-time";

const KIND: Record<EntityChange["change"], { label: string; variant: BadgeVariant }> = {
  added: { label: "Added", variant: "success" },
  removed: { label: "Removed", variant: "destructive" },
  changed: { label: "Changed", variant: "warning" },
};

/** A diff by entity: each change in words, its JSON diff one click away. Secrets arrive masked. */
export function ChangeList({ changes, emptyText = "No differences." }: { changes: EntityChange[]; emptyText?: string }) {
  if (changes.length === 0) return <p className="text-sm text-muted-foreground">{emptyText}</p>;
  return (
    <ul className="divide-y rounded-md border" aria-label="Changes">
      {changes.map((c) => (
        <li key={`${c.entity}:${c.key}`} className="space-y-1 p-3" data-entity={c.entity}>
          <div className="flex flex-wrap items-center gap-2">
            <Badge variant={KIND[c.change].variant}>{KIND[c.change].label}</Badge>
            <span className="text-xs text-muted-foreground uppercase">{c.entity}</span>
            <span className="font-mono text-xs">{c.key}</span>
          </div>
          <ul className="space-y-0.5 text-sm">
            {c.words.map((w) => (
              <li key={w}>
                <TextWithTimes text={w} />
              </li>
            ))}
          </ul>
          <details className="text-xs">
            <summary className="cursor-pointer text-muted-foreground">JSON diff</summary>
            <pre className="mt-1 max-h-64 overflow-auto rounded bg-muted p-2">{JSON.stringify(c.fields, null, 2)}</pre>
          </details>
        </li>
      ))}
    </ul>
  );
}
