"use client";

import { useMemo } from "react";
import { useRouter } from "next/navigation";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { serverKeys, toolKeys } from "@/lib/api/query-keys";
import type { ToolView } from "@/lib/schemas/tool";
import { cn } from "@/lib/utils";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { diffLines, diffWords, stableJson, type DiffLine } from "@/components/servers/line-diff";

type Section = { key: string; label: string; before: string; after: string; kind: "text" | "json" };

function sectionsFor(tool: ToolView): Section[] {
  const pending = tool.pendingDefinition;
  if (!pending) return [];
  const all: Section[] = [
    { key: "title", label: "Title", before: tool.title ?? "", after: pending.title ?? "", kind: "text" },
    { key: "description", label: "Description", before: tool.description, after: pending.description ?? "", kind: "text" },
    { key: "inputSchema", label: "Input schema", before: stableJson(tool.inputSchema ?? null), after: stableJson(pending.inputSchema ?? null), kind: "json" },
    { key: "outputSchema", label: "Output schema", before: stableJson(tool.outputSchema ?? undefined), after: stableJson(pending.outputSchema ?? undefined), kind: "json" },
    { key: "annotations", label: "Annotations", before: stableJson(tool.annotations ?? undefined), after: stableJson(pending.annotations ?? undefined), kind: "json" },
  ];
  return all.filter((section) => section.before !== section.after);
}

function TextCompare({ before, after }: { before: string; after: string }) {
  const parts = useMemo(() => diffWords(before, after), [before, after]);
  const sides = [
    { label: "Pinned (accepted)", text: before, drop: "added" as const, mark: "removed" as const, tone: "bg-destructive/15 text-destructive-strong line-through decoration-destructive/50" },
    { label: "Pending (from upstream)", text: after, drop: "removed" as const, mark: "added" as const, tone: "bg-success/15 text-success-strong" },
  ];
  return (
    <div className="grid gap-3 md:grid-cols-2">
      {sides.map((side) => (
        <div key={side.label} className="grid content-start gap-1.5">
          <span className="text-xs font-medium text-muted-foreground uppercase">{side.label}</span>
          <div className="min-h-10 rounded-md border bg-muted/30 p-3 text-sm break-words whitespace-pre-wrap">
            {side.text
              ? parts
                  .filter((part) => part.kind !== side.drop)
                  .map((part, index) =>
                    part.kind === side.mark ? (
                      <mark key={index} className={cn("rounded-sm px-0.5", side.tone)}>
                        <span className="sr-only">{side.mark === "added" ? "[added: " : "[removed: "}</span>
                        {part.text}
                        <span className="sr-only">]</span>
                      </mark>
                    ) : (
                      <span key={index}>{part.text}</span>
                    ),
                  )
              : <span className="text-muted-foreground italic">(empty)</span>}
          </div>
        </div>
      ))}
    </div>
  );
}

const MARK: Record<DiffLine["kind"], { sign: string; label: string; row: string }> = {
  same: { sign: " ", label: "", row: "" },
  removed: { sign: "−", label: "Removed: ", row: "bg-destructive/10 text-destructive-strong" },
  added: { sign: "+", label: "Added: ", row: "bg-success/10 text-success-strong" },
};

function LineDiff({ before, after, label }: { before: string; after: string; label: string }) {
  const lines = useMemo(() => diffLines(before, after), [before, after]);
  const added = lines.filter((l) => l.kind === "added").length;
  const removed = lines.filter((l) => l.kind === "removed").length;
  return (
    <div className="grid gap-1.5">
      <div className="flex items-center gap-2 text-xs text-muted-foreground">
        <span className="font-medium uppercase">Pinned → pending</span>
        <Badge variant="success">+{added}</Badge>
        <Badge variant="destructive">−{removed}</Badge>
      </div>
      <div
        role="region"
        aria-label={`${label} diff`}
        tabIndex={0}
        className="max-h-80 overflow-auto rounded-md border bg-muted/40 font-mono text-xs leading-5 outline-none focus-visible:ring-[3px] focus-visible:ring-ring/50"
      >
        <table className="w-full border-collapse">
          <tbody>
            {lines.map((line, index) => {
              const mark = MARK[line.kind];
              return (
                <tr key={index} className={mark.row}>
                  <td className="w-0 px-2 text-right text-muted-foreground/70 select-none">{line.oldNumber ?? ""}</td>
                  <td className="w-0 px-2 text-right text-muted-foreground/70 select-none">{line.newNumber ?? ""}</td>
                  <td aria-hidden className="w-0 px-1 select-none">
                    {mark.sign}
                  </td>
                  <td className="pr-3 whitespace-pre">
                    {mark.label ? <span className="sr-only">{mark.label}</span> : null}
                    {line.text}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </div>
  );
}

type ToolChangeDialogProps = {
  tool: ToolView | null;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  canWrite: boolean;
};

/** The pinned and the pending definition of a changed tool, and for admins the way to accept it. */
export function ToolChangeDialog({ tool, open, onOpenChange, canWrite }: ToolChangeDialogProps) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const sections = useMemo(() => (tool ? sectionsFor(tool) : []), [tool]);

  const accept = useMutation({
    mutationFn: (id: string) => api<ToolView>("POST", `/tools/${id}/accept`),
    onSuccess: async (accepted) => {
      toast.success(`Accepted the change to ${accepted.name}`);
      onOpenChange(false);
      await Promise.all([queryClient.invalidateQueries({ queryKey: toolKeys.all }), queryClient.invalidateQueries({ queryKey: serverKeys.all })]);
      router.refresh();
    },
    onError: (error) => toast.error(error.message),
  });

  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      dismissible={!accept.isPending}
      className="max-w-5xl"
      title={tool ? `Review change to ${tool.name}` : "Review change"}
      description="The upstream server now describes this tool differently. It stays quarantined (not callable through any portal) until an admin accepts the new definition."
      footer={
        <>
          <Button type="button" variant="outline" disabled={accept.isPending} onClick={() => onOpenChange(false)}>
            Close
          </Button>
          {canWrite && tool?.pendingDefinition ? (
            <Button type="button" loading={accept.isPending} onClick={() => accept.mutate(tool.id)}>
              Accept change
            </Button>
          ) : null}
        </>
      }
    >
      <div className="grid max-h-[65vh] gap-5 overflow-y-auto pr-1">
        {!tool?.pendingDefinition ? (
          <Alert variant="info" title="Nothing to review">
            This tool has no change waiting for review.
          </Alert>
        ) : sections.length === 0 ? (
          <Alert variant="info" title="No visible difference">
            The title, description, schemas and annotations read the same; the definition differs only in formatting or field order.
          </Alert>
        ) : (
          sections.map((section) => (
            <section key={section.key} className="grid gap-2" aria-label={section.label}>
              <h3 className="text-sm font-semibold">{section.label}</h3>
              {section.kind === "text" ? (
                <TextCompare before={section.before} after={section.after} />
              ) : (
                <LineDiff before={section.before} after={section.after} label={section.label} />
              )}
            </section>
          ))
        )}
        {!canWrite && tool?.pendingDefinition ? (
          <p className="text-sm text-muted-foreground">Only an admin can accept this change.</p>
        ) : null}
      </div>
    </Dialog>
  );
}
