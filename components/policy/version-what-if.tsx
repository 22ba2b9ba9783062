"use client";

import { useMutation } from "@tanstack/react-query";
import { useState } from "react";

import { api } from "@/lib/api/client";
import type { SimulateResult } from "@/lib/server/policy-explainer";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";

import { AccessChanges } from "./access-changes";

/** What-if against an older version: who would lose or gain access if it were rolled back to. */
export function VersionWhatIf({ latest }: { latest: number }) {
  const [version, setVersion] = useState(String(Math.max(1, latest - 1)));
  const simulate = useMutation({
    mutationFn: () => api<SimulateResult>("POST", "/policy/simulate", { against: { kind: "version", version: Number(version) }, days: 30 }),
  });
  return (
    <Card>
      <CardHeader>
        <CardTitle>What if an older version were in force?</CardTitle>
        <CardDescription>The last 30 days of audited calls, replayed against version {latest} and against the one you pick.</CardDescription>
      </CardHeader>
      <CardContent className="space-y-4">
        <form
          className="flex flex-wrap items-end gap-3"
          onSubmit={(e) => {
            e.preventDefault();
            simulate.mutate();
          }}
        >
          <div className="space-y-1">
            <Label htmlFor="what-if-version">Version</Label>
            <Input id="what-if-version" type="number" min={1} max={latest} value={version} onChange={(e) => setVersion(e.target.value)} className="w-32" />
          </div>
          <Button type="submit" variant="outline" loading={simulate.isPending}>
            Replay
          </Button>
        </form>
        {simulate.error ? (
          <Alert variant="destructive" title="The what-if could not run">
            {simulate.error.message}
          </Alert>
        ) : null}
        {simulate.data ? (
          <>
            <p className="text-sm text-muted-foreground">{simulate.data.replayed} distinct caller × tool pairs replayed against {simulate.data.against}.</p>
            <AccessChanges changes={simulate.data.changes} />
          </>
        ) : null}
      </CardContent>
    </Card>
  );
}
