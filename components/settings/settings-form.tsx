"use client";

import { useQuery, useQueryClient, useMutation } from "@tanstack/react-query";
import { ShieldAlert } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { settingsKeys } from "@/lib/api/query-keys";
import type { Settings } from "@/lib/schemas/settings";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Label } from "@/components/ui/label";
import { Switch } from "@/components/ui/switch";

export function SettingsForm({ initialSettings, canWrite }: { initialSettings: Settings; canWrite: boolean }) {
  const queryClient = useQueryClient();
  const { data: settings } = useQuery({
    queryKey: settingsKeys.all,
    queryFn: () => api<Settings>("GET", "/settings"),
    initialData: initialSettings,
  });

  const update = useMutation({
    mutationFn: (patch: Partial<Settings>) => api<Settings>("PATCH", "/settings", patch),
    onSuccess: (next) => {
      queryClient.setQueryData(settingsKeys.all, next);
      toast.success(next.allowPrivateTargets ? "Private upstream targets are now allowed" : "Private upstream targets are refused again");
    },
    onError: (error) => toast.error(error.message || "Could not save the setting"),
  });

  const allow = update.isPending && update.variables?.allowPrivateTargets !== undefined ? update.variables.allowPrivateTargets : settings.allowPrivateTargets;

  return (
    <div className="flex max-w-3xl flex-col gap-6">
      {canWrite ? null : (
        <Alert variant="info" title="Read-only">
          Only admins can change settings.
        </Alert>
      )}
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">
            <ShieldAlert aria-hidden className="size-4 text-muted-foreground" />
            Upstream network safety
          </CardTitle>
          <CardDescription>Which addresses Portico may connect to when it syncs and calls MCP servers.</CardDescription>
        </CardHeader>
        <CardContent className="grid gap-4">
          <div className="flex items-start justify-between gap-6">
            <div className="grid gap-1.5">
              <Label htmlFor="allow-private-targets">Allow private upstream targets</Label>
              <p id="allow-private-targets-description" className="text-sm text-muted-foreground">
                When off, server URLs that resolve to link-local or cloud-metadata addresses (such as 169.254.169.254) are refused. This
                guards against server-side request forgery: someone who can register a server could otherwise make Portico read your
                cloud credentials or reach internal-only services.
              </p>
            </div>
            <div className="flex items-center gap-2 pt-0.5">
              <Badge variant={allow ? "warning" : "success"} aria-hidden>
                {allow ? "On" : "Off"}
              </Badge>
              <Switch
                id="allow-private-targets"
                checked={allow}
                disabled={!canWrite || update.isPending}
                aria-describedby="allow-private-targets-description"
                onCheckedChange={(checked) => update.mutate({ allowPrivateTargets: checked })}
              />
            </div>
          </div>
          {allow ? (
            <Alert variant="warning" title="The SSRF guard is relaxed">
              Turn this on only if your MCP servers really live on such addresses, and keep server registration to trusted admins.
            </Alert>
          ) : null}
        </CardContent>
      </Card>
    </div>
  );
}
