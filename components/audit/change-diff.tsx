import { cn } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";

type Json = unknown;

function isPlainObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Leaf values by dotted path: objects and arrays of objects are walked, other arrays are leaves. */
function flatten(value: Json, prefix = "", out = new Map<string, string>()): Map<string, string> {
  if (isPlainObject(value)) {
    const entries = Object.entries(value);
    if (entries.length === 0 && prefix) out.set(prefix, "{}");
    for (const [key, child] of entries) flatten(child, prefix ? `${prefix}.${key}` : key, out);
  } else if (Array.isArray(value) && value.some((v) => isPlainObject(v) || Array.isArray(v))) {
    value.forEach((child, index) => flatten(child, `${prefix}.${index}`, out));
  } else if (prefix) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

export type ChangedField = { path: string; kind: "added" | "removed" | "changed" };

export function changedFields(before: Json, after: Json): ChangedField[] {
  const a = flatten(before);
  const b = flatten(after);
  const paths = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  return paths.flatMap<ChangedField>((path) => {
    if (!a.has(path)) return [{ path, kind: "added" }];
    if (!b.has(path)) return [{ path, kind: "removed" }];
    return a.get(path) === b.get(path) ? [] : [{ path, kind: "changed" }];
  });
}

function indent(text: string): string {
  return text.replace(/\n/g, "\n  ");
}

/** Pretty JSON of one side, one block per top-level key, with the keys that differ highlighted. */
function JsonSide({ title, value, changedKeys, tone }: { title: string; value: Json; changedKeys: Set<string>; tone: "before" | "after" }) {
  const highlight = tone === "before" ? "bg-destructive/10" : "bg-success/10";
  return (
    <figure className="min-w-0 overflow-hidden rounded-lg border bg-muted/40">
      <figcaption className="border-b bg-muted/60 px-3 py-1.5 text-xs font-medium text-muted-foreground">{title}</figcaption>
      <pre tabIndex={0} className="max-h-96 overflow-auto p-3 font-mono text-xs leading-relaxed outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50">
        {isPlainObject(value) ? (
          <>
            {"{"}
            {Object.entries(value).map(([key, child], index, all) => {
              const isChanged = changedKeys.has(key);
              return (
                <div key={key} className={cn("-mx-3 px-3", isChanged && highlight)} data-changed={isChanged || undefined}>
                  {isChanged ? <span className="sr-only">(changed) </span> : null}
                  {`  ${JSON.stringify(key)}: ${indent(JSON.stringify(child, null, 2))}${index < all.length - 1 ? "," : ""}`}
                </div>
              );
            })}
            {"}"}
          </>
        ) : (
          <span className={cn(value !== null && changedKeys.size > 0 && highlight)}>{JSON.stringify(value, null, 2) ?? "null"}</span>
        )}
      </pre>
    </figure>
  );
}

/** Old and new values of a config change, side by side, with what changed listed and highlighted. */
export function ChangeDiff({ before, after }: { before: Json; after: Json }) {
  const fields = changedFields(before, after);
  const topKeys = new Set(fields.map((f) => f.path.split(".")[0]!));
  const isCreate = before === null;
  const isDelete = after === null;
  return (
    <div className="grid gap-3">
      <div className="flex flex-wrap items-center gap-1.5 text-sm">
        {isCreate ? (
          <span>Created with these values.</span>
        ) : isDelete ? (
          <span>Deleted; these were its last values.</span>
        ) : fields.length === 0 ? (
          <span className="text-muted-foreground">No field changed.</span>
        ) : (
          <>
            <span className="font-medium">Changed:</span>
            <ul className="flex flex-wrap gap-1.5" aria-label="Changed fields">
              {fields.slice(0, 30).map((f) => (
                <li key={f.path}>
                  <Badge variant={f.kind === "added" ? "success" : f.kind === "removed" ? "destructive" : "warning"} className="font-mono">
                    {f.path}
                    {f.kind === "changed" ? null : ` (${f.kind})`}
                  </Badge>
                </li>
              ))}
              {fields.length > 30 ? <li className="text-muted-foreground">and {fields.length - 30} more</li> : null}
            </ul>
          </>
        )}
      </div>
      <div className={cn("grid gap-3", !isCreate && !isDelete && "md:grid-cols-2")}>
        {isCreate ? null : <JsonSide title="Before" value={before} changedKeys={isDelete ? new Set() : topKeys} tone="before" />}
        {isDelete ? null : <JsonSide title="After" value={after} changedKeys={isCreate ? new Set() : topKeys} tone="after" />}
      </div>
    </div>
  );
}
