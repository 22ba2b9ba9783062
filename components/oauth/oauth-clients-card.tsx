"use client";

import { useId, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Plus } from "lucide-react";
import { toast } from "sonner";

import { api } from "@/lib/api/client";
import { oauthClientKeys } from "@/lib/api/query-keys";
import { createOAuthClientInput, type CreateOAuthClientInput, type OAuthClientView } from "@/lib/schemas/oauth-client";
import { fieldErrorsFrom, zodFieldErrors, type FieldErrors } from "@/components/forms/field-errors";
import { FormActions } from "@/components/forms/form-actions";
import { Alert } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { CopyButton } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { RelativeTime } from "@/components/ui/relative-time";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { Textarea } from "@/components/ui/textarea";

/** Admins: the OAuth clients Portico knows by id, pre-registered here or self-registered (DCR). */
export function OAuthClientsCard() {
  const queryClient = useQueryClient();
  const [isCreateOpen, setIsCreateOpen] = useState(false);
  const [deleting, setDeleting] = useState<OAuthClientView | null>(null);
  const query = useQuery({ queryKey: oauthClientKeys.all, queryFn: () => api<{ items: OAuthClientView[] }>("GET", "/oauth-clients") });
  const items = query.data?.items ?? [];

  return (
    <Card>
      <CardHeader>
        <CardTitle>Registered OAuth clients</CardTitle>
        <CardDescription>
          Clients known by a client id: pre-registered here for MCP clients that cannot register themselves, or registered by
          themselves (dynamic registration, switchable in Settings). Clients identified by a metadata document URL are not listed.
        </CardDescription>
      </CardHeader>
      <CardContent className="grid gap-3">
        <div>
          <Button onClick={() => setIsCreateOpen(true)}>
            <Plus aria-hidden />
            Register a client
          </Button>
        </div>
        {query.error ? <Alert variant="destructive" title="Could not load clients">{query.error.message}</Alert> : null}
        <Table aria-label="Registered OAuth clients">
          <TableHeader>
            <TableRow>
              <TableHead>Client</TableHead>
              <TableHead>Registered</TableHead>
              <TableHead>Redirect URIs</TableHead>
              <TableHead>People connected</TableHead>
              <TableHead>
                <span className="sr-only">Actions</span>
              </TableHead>
            </TableRow>
          </TableHeader>
          <TableBody>
            {items.length === 0 ? (
              <TableRow>
                <TableCell colSpan={5} className="text-muted-foreground">
                  {query.isLoading ? "Loading…" : "No registered clients yet."}
                </TableCell>
              </TableRow>
            ) : (
              items.map((c) => (
                <TableRow key={c.clientId}>
                  <TableCell>
                    <div className="grid">
                      <span className="font-medium">{c.name}</span>
                      <span className="flex items-center gap-1 font-mono text-xs text-muted-foreground">
                        {c.clientId}
                        <CopyButton value={c.clientId} label="Copy client id" />
                      </span>
                    </div>
                  </TableCell>
                  <TableCell>
                    <Badge variant={c.kind === "registered" ? "secondary" : "outline"}>{c.kind === "registered" ? "By an admin" : "Self-registered"}</Badge>{" "}
                    <RelativeTime value={c.createdAt} className="text-muted-foreground" />
                  </TableCell>
                  <TableCell className="max-w-xs">
                    {c.redirectUris.map((u) => (
                      <div key={u} className="truncate font-mono text-xs" title={u}>
                        {u}
                      </div>
                    ))}
                  </TableCell>
                  <TableCell>{c.connections}</TableCell>
                  <TableCell className="text-right">
                    <Button variant="outline" size="sm" className="text-destructive-strong" onClick={() => setDeleting(c)} aria-label={`Delete ${c.name}`}>
                      Delete
                    </Button>
                  </TableCell>
                </TableRow>
              ))
            )}
          </TableBody>
        </Table>
      </CardContent>
      <RegisterClientDialog open={isCreateOpen} onOpenChange={setIsCreateOpen} />
      <ConfirmDialog
        open={deleting !== null}
        onOpenChange={(open) => !open && setDeleting(null)}
        title={deleting ? `Delete ${deleting.name}?` : "Delete client?"}
        description="Everyone connected through it is disconnected: its refresh tokens stop working at once. A client that registers itself can register again."
        confirmLabel="Delete client"
        onConfirm={async () => {
          if (!deleting) return;
          await api("DELETE", `/oauth-clients/${encodeURIComponent(deleting.clientId)}`);
          toast.success(`${deleting.name} deleted`);
          await queryClient.invalidateQueries({ queryKey: oauthClientKeys.all });
        }}
      />
    </Card>
  );
}

function RegisterClientDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const queryClient = useQueryClient();
  const formId = useId();
  const [name, setName] = useState("");
  const [uris, setUris] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [created, setCreated] = useState<OAuthClientView | null>(null);

  const create = useMutation({
    mutationFn: (input: CreateOAuthClientInput) => api<OAuthClientView>("POST", "/oauth-clients", input),
    onSuccess: async (client) => {
      setName("");
      setUris("");
      setErrors({});
      onOpenChange(false);
      setCreated(client);
      await queryClient.invalidateQueries({ queryKey: oauthClientKeys.all });
    },
    onError: (error) => setErrors(fieldErrorsFrom(error)),
  });

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const input = { name, redirectUris: uris.split("\n").map((u) => u.trim()).filter(Boolean) };
    const parsed = createOAuthClientInput.safeParse(input);
    if (!parsed.success) return setErrors(zodFieldErrors(parsed.error));
    create.mutate(parsed.data);
  };

  return (
    <>
      <Dialog open={open} onOpenChange={onOpenChange} title="Register an OAuth client" description="A public client with PKCE, as MCP clients are. People still sign in and approve it the first time." dismissible={!create.isPending}>
        <form onSubmit={submit} noValidate className="grid gap-4">
          {errors.form ? <Alert variant="destructive">{errors.form}</Alert> : null}
          <FormField label="Name" htmlFor={`${formId}-name`} required error={errors.name} description="Shown on the consent page, e.g. “Claude Code”.">
            <Input autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
          </FormField>
          <FormField
            label="Redirect URIs"
            htmlFor={`${formId}-uris`}
            required
            error={errors.redirectUris}
            description="One per line, matched exactly: https://…, or http://127.0.0.1:PORT/… for a client on the person's computer."
          >
            <Textarea rows={3} className="font-mono text-xs" value={uris} onChange={(e) => setUris(e.target.value)} />
          </FormField>
          <FormActions submitLabel="Register client" isPending={create.isPending} onCancel={() => onOpenChange(false)} />
        </form>
      </Dialog>
      <Dialog
        open={created !== null}
        onOpenChange={(next) => !next && setCreated(null)}
        title="Client registered"
        description="Configure the MCP client with this client id (it has no secret: it proves itself with PKCE)."
        footer={<Button onClick={() => setCreated(null)}>Done</Button>}
      >
        {created ? (
          <div className="flex items-center gap-2">
            <Input readOnly aria-label="New client id" value={created.clientId} className="font-mono text-xs" onFocus={(e) => e.currentTarget.select()} />
            <CopyButton value={created.clientId} label="Copy client id" variant="outline" />
          </div>
        ) : null}
      </Dialog>
    </>
  );
}
