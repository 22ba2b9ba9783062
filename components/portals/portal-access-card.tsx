"use client";

import Link from "next/link";
import { Plus, ShieldCheck } from "lucide-react";

import type { PortalView } from "@/lib/schemas/portal";
import { Alert } from "@/components/ui/alert";
import { buttonVariants } from "@/components/ui/button";
import { Card, CardAction, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";

type PortalAccessCardProps = { portal: PortalView; canWrite: boolean };

const members = (n: number) => (n === 0 ? "no members" : n === 1 ? "1 member" : `${n} members`);

/**
 * Who can use the portal: the roles with a grant on it. A portal no role grants answers every
 * caller with an empty tool list, which looks like a broken portal from the client's side.
 */
export function PortalAccessCard({ portal, canWrite }: PortalAccessCardProps) {
  const { roles } = portal;
  const isUnreachable = roles.every((r) => r.members === 0);
  return (
    <Card>
      <CardHeader>
        <CardTitle>Access</CardTitle>
        <CardDescription>Roles with a grant on this portal. Their members see the tools the grants allow.</CardDescription>
        {canWrite ? (
          <CardAction>
            <Link href="/roles/new" className={buttonVariants({ variant: "outline", size: "sm" })}>
              <Plus aria-hidden />
              New role
            </Link>
          </CardAction>
        ) : null}
      </CardHeader>
      <CardContent className="grid gap-3">
        {isUnreachable ? (
          <Alert variant="warning" title={roles.length === 0 ? "No role grants this portal yet" : "No one holds these roles yet"}>
            {roles.length === 0
              ? "Whoever connects signs in and sees no tools. Give a role a grant on this portal."
              : "Whoever connects sees no tools until a person, group or service account is added to one of them."}
          </Alert>
        ) : null}
        {roles.length > 0 ? (
          <ul className="divide-y rounded-md border text-sm" aria-label="Roles with access">
            {roles.map((role) => (
              <li key={role.id} className="flex items-center justify-between gap-3 px-3 py-2">
                <Link href={`/roles/${role.id}`} className="inline-flex min-w-0 items-center gap-2 font-medium hover:underline">
                  <ShieldCheck aria-hidden className="size-4 shrink-0 text-muted-foreground" />
                  <span className="truncate">{role.name}</span>
                </Link>
                <span className="shrink-0 text-xs text-muted-foreground">{members(role.members)}</span>
              </li>
            ))}
          </ul>
        ) : null}
      </CardContent>
    </Card>
  );
}
