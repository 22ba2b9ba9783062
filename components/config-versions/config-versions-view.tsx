"use client";

import { useMutation, useQuery } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { configVersionKeys } from "@/lib/api/query-keys";
import type { EntityChange } from "@/lib/config/diff";
import { describeVersionSummary } from "@/lib/config/version-summary";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { RelativeTime } from "@/components/ui/relative-time";
import { Select } from "@/components/ui/select";
import { Spinner } from "@/components/ui/spinner";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

import { ChangeList } from "./change-list";

export type VersionRow = {
  id: string;
  version: number;
  summary: string;
  createdAt: string;
  createdBy: { email: string; name: string } | null;
  gateways?: string[];
};

type DiffView = { from: number | null; to: number; summary: string; changes: EntityChange[] };
type RollbackPreview = { version: number; summary: string; changes: EntityChange[]; cannotRestore: string[]; kept: string[] };
type RollbackResult = { rolledBackTo: number; publishedVersion: number | null; cannotRestore: string[] };

export function ConfigVersionsView({ versions, canRollBack }: { versions: VersionRow[]; canRollBack: boolean }) {
  const router = useRouter();
  const newest = versions[0]?.version ?? null;
  const [selected, setSelected] = useState<number | null>(newest);
  const [against, setAgainst] = useState<number | null>(null);
  const [rollbackTarget, setRollbackTarget] = useState<number | null>(null);

  const diff = useQuery({
    queryKey: configVersionKeys.diff(selected ?? 0, against),
    queryFn: () => api<DiffView>("GET", `/config-versions/${selected}/diff${against ? `?against=${against}` : ""}`),
    enabled: selected !== null,
  });
  const preview = useQuery({
    queryKey: configVersionKeys.rollback(rollbackTarget ?? 0),
    queryFn: () => api<RollbackPreview>("GET", `/config-versions/${rollbackTarget}/rollback`),
    enabled: rollbackTarget !== null,
    staleTime: 0,
    gcTime: 0,
  });
  const rollback = useMutation({
    mutationFn: (version: number) => api<RollbackResult>("POST", `/config-versions/${version}/rollback`),
    onSuccess: (result) => {
      toast.success(result.publishedVersion ? `Rolled back to version ${result.rolledBackTo}: published as version ${result.publishedVersion}` : `Already as at version ${result.rolledBackTo}: nothing to publish`);
      setSelected(result.publishedVersion ?? selected);
      setAgainst(null);
      router.refresh();
    },
  });

  const options = versions.map((v) => ({ value: String(v.version), label: `Version ${v.version}` }));

  return (
    <div className="space-y-6">
      <Table aria-label="Config versions">
        <TableHeader>
          <TableRow>
            <TableHead>Version</TableHead>
            <TableHead>Change</TableHead>
            <TableHead>By</TableHead>
            <TableHead>Published</TableHead>
            <TableHead>Running on</TableHead>
            <TableHead className="text-right">Actions</TableHead>
          </TableRow>
        </TableHeader>
        <TableBody>
          {versions.map((v) => (
            <TableRow key={v.id} data-version={v.version} aria-selected={selected === v.version} className={selected === v.version ? "bg-muted/50" : undefined}>
              <TableCell className="font-medium">
                {v.version}
                {v.version === newest && (
                  <Badge variant="info" className="ml-2">
                    Current
                  </Badge>
                )}
              </TableCell>
              <TableCell className="max-w-sm text-sm break-words whitespace-normal" title={v.summary}>
                {describeVersionSummary(v.summary)}
              </TableCell>
              <TableCell className="text-sm">{v.createdBy?.email ?? "system"}</TableCell>
              <TableCell>
                <RelativeTime value={v.createdAt} />
              </TableCell>
              <TableCell className="text-sm">{v.gateways?.length ? v.gateways.join(", ") : <span className="text-muted-foreground">none</span>}</TableCell>
              <TableCell className="space-x-2 text-right whitespace-nowrap">
                <Button
                  size="sm"
                  variant="outline"
                  onClick={() => {
                    setSelected(v.version);
                    setAgainst(null);
                  }}
                >
                  Show changes
                </Button>
                {canRollBack && v.version !== newest && (
                  <Button size="sm" variant="outline" onClick={() => setRollbackTarget(v.version)}>
                    Roll back to this
                  </Button>
                )}
              </TableCell>
            </TableRow>
          ))}
        </TableBody>
      </Table>

      {selected !== null && (
        <Card>
          <CardHeader>
            <CardTitle>Changes in version {selected}</CardTitle>
            <CardDescription>
              {diff.data ? (diff.data.from === null ? "The first version: everything is new." : `Compared with version ${diff.data.from}. ${diff.data.summary}.`) : "Loading…"} Secrets are never shown.
            </CardDescription>
          </CardHeader>
          <CardContent className="space-y-4">
            <div className="flex flex-wrap items-end gap-3">
              <label className="space-y-1 text-sm">
                <span className="block text-muted-foreground">Version</span>
                <Select aria-label="Version" value={String(selected)} options={options} onChange={(e) => setSelected(Number(e.target.value))} wrapperClassName="w-40" />
              </label>
              <label className="space-y-1 text-sm">
                <span className="block text-muted-foreground">Compared with</span>
                <Select
                  aria-label="Compared with"
                  value={against === null ? "" : String(against)}
                  placeholder="The version before"
                  options={options}
                  onChange={(e) => setAgainst(e.target.value ? Number(e.target.value) : null)}
                  wrapperClassName="w-48"
                />
              </label>
            </div>
            {diff.isPending ? <Spinner /> : diff.error ? <Alert variant="destructive" title="Could not load the diff">{diff.error.message}</Alert> : <ChangeList changes={diff.data.changes} />}
          </CardContent>
        </Card>
      )}

      <ConfirmDialog
        open={rollbackTarget !== null}
        onOpenChange={(open) => !open && setRollbackTarget(null)}
        title={`Roll back to version ${rollbackTarget}?`}
        description="Servers, portals and roles are restored as they were at that version, published as a new version and pushed to every gateway. History keeps every version."
        confirmLabel="Roll back"
        variant="default"
        onConfirm={async () => {
          if (rollbackTarget === null) return;
          await rollback.mutateAsync(rollbackTarget);
        }}
      >
        {preview.isPending ? (
          <Spinner />
        ) : preview.error ? (
          <Alert variant="destructive" title="This version cannot be rolled back to">
            {preview.error.message}
          </Alert>
        ) : (
          <div className="max-h-[50vh] space-y-3 overflow-auto">
            {preview.data.cannotRestore.length > 0 && (
              <Alert variant="warning" title="Cannot be rolled back">
                <ul className="list-disc pl-4">
                  {preview.data.cannotRestore.map((line) => (
                    <li key={line}>{line}</li>
                  ))}
                </ul>
              </Alert>
            )}
            {preview.data.kept.length > 0 && (
              <ul className="list-disc pl-4 text-sm text-muted-foreground" aria-label="Kept as it is">
                {preview.data.kept.map((line) => (
                  <li key={line}>{line}</li>
                ))}
              </ul>
            )}
            <p className="text-sm font-medium">What gateways will serve differently: {preview.data.summary}</p>
            <ChangeList changes={preview.data.changes} emptyText="Nothing: the configuration already says what that version said." />
          </div>
        )}
      </ConfirmDialog>
    </div>
  );
}
