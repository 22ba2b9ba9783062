"use client";

import { useId } from "react";

import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { CodeBlock } from "@/components/ui/code-block";
import { CopyButton } from "@/components/ui/copy-button";
import { Dialog } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import type { ServiceAccountWithSecret } from "@/lib/schemas/service-account";
import { tokenPortalsOf, tokenRequestExample, type RoleOption } from "@/components/service-accounts/format";

/** Shows a service account's client id and secret, the one time the secret exists outside its owner's hands. */
export function SecretDialog({
  account,
  title,
  onDone,
  tokenEndpoint,
  roles,
}: {
  account: ServiceAccountWithSecret | null;
  title: string;
  onDone: () => void;
  tokenEndpoint: string;
  /** The roles with the portals each grants, to name in the token example. */
  roles: readonly RoleOption[];
}) {
  const id = useId();
  const portals = account ? tokenPortalsOf(account.role, roles) : [];
  return (
    <Dialog
      open={account !== null}
      onOpenChange={(next) => !next && onDone()}
      title={title}
      description={account ? `“${account.name}”${account.role ? `, role ${account.role.name}` : ", no role yet"}.` : undefined}
      footer={<Button onClick={onDone}>Done</Button>}
    >
      {account ? (
        <div className="grid gap-4">
          <Alert variant="warning" title="You will not see this secret again">
            Portico keeps only a keyed hash of it. Copy it now into your CI&apos;s secret store; if you lose it, rotate the secret.
          </Alert>
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-client-id`}>Client ID</Label>
            <div className="flex items-center gap-2">
              <Input id={`${id}-client-id`} readOnly value={account.clientId} className="font-mono text-xs" onFocus={(e) => e.currentTarget.select()} />
              <CopyButton value={account.clientId} label="Copy client ID" variant="outline" />
            </div>
          </div>
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-secret`}>Client secret</Label>
            <div className="flex items-center gap-2">
              <Input id={`${id}-secret`} readOnly value={account.clientSecret} className="font-mono text-xs" onFocus={(e) => e.currentTarget.select()} />
              <CopyButton value={account.clientSecret} label="Copy client secret" variant="outline" />
            </div>
          </div>
          {portals.length === 0 ? (
            <Alert title="No portal to get a token for yet">
              {account.role
                ? `Role ${account.role.name} grants no portal yet. Once it grants one, this account gets 15-minute tokens for it at ${tokenEndpoint} with the client-credentials grant and resource=<the portal's URL>.`
                : `This account holds no role yet. Give it a role that grants a portal; it then gets 15-minute tokens for that portal at ${tokenEndpoint} with the client-credentials grant and resource=<the portal's URL>.`}
            </Alert>
          ) : (
            // One example per portal the role grants: a token is for one portal, and any other is refused.
            portals.map((portal) => (
              <CodeBlock
                key={portal.url}
                title={portals.length === 1 ? `Get a 15-minute access token for ${portal.name}` : `Get a 15-minute access token for ${portal.name} (one portal per token)`}
                code={tokenRequestExample(tokenEndpoint, account.clientId, portal.url)}
                wrap
              />
            ))
          )}
        </div>
      ) : null}
    </Dialog>
  );
}
