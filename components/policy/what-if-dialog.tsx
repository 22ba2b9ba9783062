"use client";

import { useQuery } from "@tanstack/react-query";

import { api } from "@/lib/api/client";
import type { CreateRoleInput } from "@/lib/schemas/role";
import type { SimulateResult } from "@/lib/server/policy-explainer";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog } from "@/components/ui/dialog";
import { Spinner } from "@/components/ui/spinner";

import { AccessChanges } from "./access-changes";

/** The role form's "What if?": replays the last 30 days of calls against the unsaved edit. */
export function WhatIfDialog({ open, onOpenChange, roleId, draft }: { open: boolean; onOpenChange: (open: boolean) => void; roleId: string | null; draft: CreateRoleInput | null }) {
  const result = useQuery({
    queryKey: ["policy", "simulate", roleId, draft],
    queryFn: () => api<SimulateResult>("POST", "/policy/simulate", { against: { kind: "draft_role", roleId, role: draft }, days: 30 }),
    enabled: open && draft !== null,
    staleTime: 0,
    gcTime: 0,
  });
  return (
    <Dialog
      open={open}
      onOpenChange={onOpenChange}
      title="What if this role were saved?"
      description="Every call of the last 30 days, replayed against the live policy and against this draft: who would lose or gain access to what. Nothing is saved."
      footer={
        <Button type="button" variant="outline" onClick={() => onOpenChange(false)}>
          Close
        </Button>
      }
    >
      {result.isPending ? (
        <Spinner />
      ) : result.error ? (
        <Alert variant="destructive" title="The what-if could not run">
          {result.error.message}
        </Alert>
      ) : (
        <div className="max-h-[60vh] space-y-3 overflow-auto">
          <p className="text-sm">
            <Badge variant="secondary">{result.data.replayed}</Badge> distinct caller × tool pairs replayed.
          </p>
          <AccessChanges changes={result.data.changes} />
          <ul className="list-disc pl-4 text-xs text-muted-foreground">
            {result.data.assumptions.map((a) => (
              <li key={a}>{a}</li>
            ))}
          </ul>
        </div>
      )}
    </Dialog>
  );
}
