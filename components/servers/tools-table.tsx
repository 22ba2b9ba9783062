"use client";

import { useState } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { GitCompareArrows, TriangleAlert, Wrench } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { toolKeys } from "@/lib/api/query-keys";
import type { RiskClass } from "@/lib/schemas/common";
import type { ToolView } from "@/lib/schemas/tool";
import { cn } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { EmptyState } from "@/components/ui/empty-state";
import { Select } from "@/components/ui/select";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { RISK_META, RISK_OPTIONS, annotationHints } from "@/components/servers/format";
import { ToolChangeDialog } from "@/components/servers/tool-change-dialog";

type ToolsTableProps = {
  tools: ToolView[];
  serverId: string;
  canWrite: boolean;
  /** True until the server has been synced once: the empty state then says how to get tools. */
  isNeverSynced: boolean;
};

export function ToolsTable({ tools, serverId, canWrite, isNeverSynced }: ToolsTableProps) {
  const queryClient = useQueryClient();
  const [reviewId, setReviewId] = useState<string | null>(null);
  const [isReviewOpen, setIsReviewOpen] = useState(false);
  const reviewed = tools.find((tool) => tool.id === reviewId) ?? null;

  const setRisk = useMutation({
    mutationFn: ({ tool, riskClass }: { tool: ToolView; riskClass: RiskClass }) => api<ToolView>("PATCH", `/tools/${tool.id}`, { riskClass }),
    onSuccess: async (updated) => {
      queryClient.setQueryData<ToolView[]>(toolKeys.list({ serverId }), (current) => current?.map((tool) => (tool.id === updated.id ? updated : tool)));
      toast.success(`${updated.name} is now classed ${RISK_META[updated.riskClass].label.toLowerCase()}`);
      await queryClient.invalidateQueries({ queryKey: toolKeys.all });
    },
    onError: (error, { tool }) => toast.error(`Could not change the risk class of ${tool.name}: ${error.message}`),
  });

  if (tools.length === 0) {
    return (
      <EmptyState
        icon={<Wrench />}
        title="No tools"
        description={isNeverSynced ? "Sync the server to discover the tools it offers." : "The last sync found no tools on this server."}
      />
    );
  }

  const openReview = (tool: ToolView) => {
    setReviewId(tool.id);
    setIsReviewOpen(true);
  };

  return (
    <>
      <div className="overflow-hidden rounded-lg border bg-card">
        <Table aria-label="Tools">
          <TableHeader className="bg-muted/40">
            <TableRow className="hover:bg-transparent">
              <TableHead>Tool</TableHead>
              <TableHead>Description</TableHead>
              <TableHead>Risk class</TableHead>
              <TableHead>State</TableHead>
              <TableHead>Hints</TableHead>
              <TableHead className="w-0">
                <span className="sr-only">Actions</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {tools.map((tool) => {
              const isChanged = tool.state === "changed";
              const isSaving = setRisk.isPending && setRisk.variables?.tool.id === tool.id;
              const riskClass = isSaving && setRisk.variables ? setRisk.variables.riskClass : tool.riskClass;
              const hints = annotationHints(tool.annotations);
              return (
                <TableRow key={tool.id} data-state={isChanged ? "changed" : undefined} className={cn(isChanged && "bg-warning/5 hover:bg-warning/10")}>
                  <TableCell className="align-top">
                    <div className="flex flex-col">
                      <span className="font-mono text-[0.8125rem] font-medium">{tool.name}</span>
                      {tool.title ? <span className="text-xs text-muted-foreground">{tool.title}</span> : null}
                    </div>
                  </TableCell>
                  <TableCell className="max-w-md min-w-64 align-top whitespace-normal">
                    <p className="line-clamp-2 text-muted-foreground" title={tool.description}>
                      {tool.description || <span className="italic">No description</span>}
                    </p>
                  </TableCell>
                  <TableCell className="align-top">
                    {canWrite ? (
                      <Select
                        aria-label={`Risk class for ${tool.name}`}
                        value={riskClass}
                        disabled={isSaving}
                        onChange={(event) => setRisk.mutate({ tool, riskClass: event.target.value as RiskClass })}
                        options={RISK_OPTIONS}
                        wrapperClassName="w-36"
                        className="h-8"
                      />
                    ) : (
                      <Badge variant={RISK_META[tool.riskClass].variant}>{RISK_META[tool.riskClass].label}</Badge>
                    )}
                    {!tool.riskClassManual ? <span className="mt-1 block text-[0.6875rem] text-muted-foreground">suggested</span> : null}
                  </TableCell>
                  <TableCell className="align-top">
                    {isChanged ? (
                      <Badge variant="warning">
                        <TriangleAlert aria-hidden />
                        Changed upstream
                      </Badge>
                    ) : (
                      <Badge variant="success">Active</Badge>
                    )}
                  </TableCell>
                  <TableCell className="align-top">
                    {hints.length > 0 ? (
                      <div className="flex flex-wrap gap-1">
                        {hints.map((hint) => (
                          <Badge key={hint.key} variant={hint.variant} className="px-1.5 py-0 text-[0.6875rem]">
                            {hint.label}
                          </Badge>
                        ))}
                      </div>
                    ) : (
                      <span className="text-muted-foreground" aria-label="No hints">
                        —
                      </span>
                    )}
                  </TableCell>
                  <TableCell className="align-top">
                    {isChanged ? (
                      <Button size="sm" variant="outline" onClick={() => openReview(tool)} aria-label={`Review change to ${tool.name}`}>
                        <GitCompareArrows aria-hidden />
                        Review change
                      </Button>
                    ) : null}
                  </TableCell>
                </TableRow>
              );
            })}
          </TableBody>
        </Table>
      </div>
      <ToolChangeDialog tool={reviewed} open={isReviewOpen} onOpenChange={setIsReviewOpen} canWrite={canWrite} />
    </>
  );
}
