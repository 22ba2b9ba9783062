"use client";

import { useId, useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { toast } from "sonner";

import { api, ApiError } from "@/lib/api/client";
import { userKeys } from "@/lib/api/query-keys";
import { dashboardRoles, roleLabels, type DashboardRole } from "@/lib/auth/permissions";
import { password as passwordSchema, type UpdateUserInput, type UserView } from "@/lib/schemas/user";
import { Button } from "@/components/ui/button";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { Dialog } from "@/components/ui/dialog";
import { FormField } from "@/components/ui/form-field";
import { Input } from "@/components/ui/input";
import { Select } from "@/components/ui/select";
import { RelativeTime } from "@/components/ui/relative-time";
import { MfaBadge, RoleBadge, SourceLabel, StatusBadge } from "@/components/users/user-badges";

type Confirm = "disable" | "enable" | "resetMfa" | "remove" | null;

function Section({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="grid gap-3 border-t pt-4">
      <h3 className="text-sm font-semibold">{title}</h3>
      {children}
    </section>
  );
}

/** Everything an admin can do to one user: role, password, lock-out, MFA reset, disable. */
export function ManageUserDialog({
  user,
  isSelf,
  onOpenChange,
}: {
  user: UserView;
  isSelf: boolean;
  onOpenChange: (open: boolean) => void;
}) {
  const queryClient = useQueryClient();
  const formId = useId();
  const [role, setRole] = useState<DashboardRole>(user.role);
  const [roleError, setRoleError] = useState<string | null>(null);
  const [newPassword, setNewPassword] = useState("");
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [pending, setPending] = useState<"role" | "password" | "unlock" | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const isSso = user.source === "sso";

  /** PATCHes the user; errors are thrown to the caller, which shows them where they belong. */
  const patch = async (body: UpdateUserInput) => {
    const updated = await api<UserView>("PATCH", `/users/${user.id}`, body);
    await queryClient.invalidateQueries({ queryKey: userKeys.all });
    return updated;
  };

  const saveRole = async (event: React.FormEvent) => {
    event.preventDefault();
    setPending("role");
    setRoleError(null);
    try {
      await patch({ role });
      toast.success(`${user.name} is now ${roleLabels[role].toLowerCase()}`);
    } catch (error) {
      setRoleError(error instanceof ApiError ? (error.fieldMap().role ?? error.message) : "Could not change the role");
    } finally {
      setPending(null);
    }
  };

  const savePassword = async (event: React.FormEvent) => {
    event.preventDefault();
    const parsed = passwordSchema.safeParse(newPassword);
    if (!parsed.success) {
      setPasswordError(parsed.error.issues[0]?.message ?? "Not a valid password");
      return;
    }
    setPending("password");
    setPasswordError(null);
    try {
      await patch({ password: parsed.data });
      setNewPassword("");
      toast.success(`New password set for ${user.name}`);
    } catch (error) {
      setPasswordError(error instanceof ApiError ? (error.fieldMap().password ?? error.message) : "Could not set the password");
    } finally {
      setPending(null);
    }
  };

  const unlock = async () => {
    setPending("unlock");
    try {
      await patch({ unlock: true });
      toast.success(`${user.name} is unlocked`);
    } catch (error) {
      toast.error(error instanceof Error ? error.message : "Could not unlock");
    } finally {
      setPending(null);
    }
  };

  const id = (s: string) => `${formId}-${s}`;
  return (
    <>
      <Dialog open onOpenChange={onOpenChange} title={`Manage ${user.name}`} description={user.email} className="max-w-xl">
        <div className="flex flex-wrap items-center gap-x-4 gap-y-2 text-sm">
          <RoleBadge role={user.role} />
          <StatusBadge user={user} />
          <span className="flex items-center gap-1.5">
            MFA <MfaBadge enabled={user.mfaEnabled} />
          </span>
          <SourceLabel source={user.source} />
          <span className="text-muted-foreground">
            Last sign-in <RelativeTime value={user.lastLoginAt} fallback="never" />
          </span>
        </div>

        <Section title="Dashboard role">
          <form onSubmit={saveRole} className="grid gap-3">
            <div className="flex flex-col gap-2 sm:flex-row sm:items-start">
              <FormField
                label="Role"
                htmlFor={id("role")}
                error={roleError}
                className="flex-1"
                description={
                  isSso
                    ? `Signs in with company SSO: the role follows their IdP groups${user.idpGroups.length ? ` (${user.idpGroups.join(", ")})` : ""} at each sign-in. Change their groups instead.`
                    : undefined
                }
              >
                <Select
                  value={role}
                  disabled={isSso}
                  onChange={(e) => {
                    setRole(e.target.value as DashboardRole);
                    setRoleError(null);
                  }}
                  options={dashboardRoles.map((r) => ({ value: r, label: roleLabels[r] }))}
                />
              </FormField>
              {isSso ? null : (
                <Button type="submit" variant="outline" className="sm:mt-6" loading={pending === "role"} disabled={role === user.role}>
                  Change role
                </Button>
              )}
            </div>
          </form>
        </Section>

        {isSso ? null : (
          <Section title="Password">
            <form onSubmit={savePassword} noValidate className="flex flex-col gap-2 sm:flex-row sm:items-start">
              <FormField
                label="New password"
                htmlFor={id("password")}
                error={passwordError}
                className="flex-1"
                description="At least 12 characters. Also clears a lock-out."
              >
                <Input
                  type="password"
                  autoComplete="new-password"
                  value={newPassword}
                  onChange={(e) => {
                    setNewPassword(e.target.value);
                    setPasswordError(null);
                  }}
                />
              </FormField>
              <Button type="submit" variant="outline" className="sm:mt-6" loading={pending === "password"} disabled={!newPassword}>
                Set password
              </Button>
            </form>
          </Section>
        )}

        <Section title="Account">
          {user.locked ? (
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-sm text-muted-foreground">Locked after repeated failed sign-ins.</p>
              <Button variant="outline" onClick={unlock} loading={pending === "unlock"}>
                Unlock
              </Button>
            </div>
          ) : null}
          {user.mfaEnabled ? (
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-sm text-muted-foreground">For someone who lost their authenticator and recovery codes.</p>
              <Button variant="outline" onClick={() => setConfirm("resetMfa")}>
                Reset MFA
              </Button>
            </div>
          ) : null}
          {isSelf ? (
            <p className="text-sm text-muted-foreground">You cannot disable your own account.</p>
          ) : (
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-sm text-muted-foreground">
                {user.disabled ? "This user cannot sign in or use API tokens." : "Disabled users cannot sign in; their API tokens stop working."}
              </p>
              {user.disabled ? (
                <Button variant="outline" onClick={() => setConfirm("enable")}>
                  Enable user
                </Button>
              ) : (
                <Button variant="outline" className="text-destructive-strong" onClick={() => setConfirm("disable")}>
                  Disable user
                </Button>
              )}
            </div>
          )}
          {isSelf ? null : (
            <div className="flex flex-wrap items-center justify-between gap-3">
              <p className="text-sm text-muted-foreground">Removing deletes the account; their audit trail stays.</p>
              <Button variant="destructive" onClick={() => setConfirm("remove")}>
                Remove user
              </Button>
            </div>
          )}
        </Section>
      </Dialog>

      <ConfirmDialog
        open={confirm === "disable"}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Disable ${user.name}?`}
        description="They are signed out at their next request and cannot sign in again until an admin enables them. Their API tokens stop working too."
        confirmLabel="Disable user"
        onConfirm={async () => {
          await patch({ disabled: true });
          toast.success(`${user.name} is disabled`);
        }}
      />
      <ConfirmDialog
        open={confirm === "enable"}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Enable ${user.name}?`}
        description="They can sign in again with their current credentials."
        confirmLabel="Enable user"
        variant="default"
        onConfirm={async () => {
          await patch({ disabled: false });
          toast.success(`${user.name} is enabled`);
        }}
      />
      <ConfirmDialog
        open={confirm === "remove"}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Remove ${user.name}?`}
        description={
          isSso
            ? "Their API tokens, connected MCP clients and access tokens stop working at once. Company SSO would let them back in as a new user with no approvals: disable them instead to keep them out."
            : "Their API tokens, connected MCP clients and access tokens stop working at once, and they cannot sign in. Their audit trail stays."
        }
        confirmLabel="Remove user"
        onConfirm={async () => {
          await api("DELETE", `/users/${user.id}`);
          await queryClient.invalidateQueries({ queryKey: userKeys.all });
          toast.success(`${user.name} is removed`);
          onOpenChange(false);
        }}
      />
      <ConfirmDialog
        open={confirm === "resetMfa"}
        onOpenChange={(open) => !open && setConfirm(null)}
        title={`Reset two-factor authentication for ${user.name}?`}
        description="Their authenticator and recovery codes stop working. They sign in with their password alone until they set up two-factor authentication again."
        confirmLabel="Reset MFA"
        onConfirm={async () => {
          await patch({ resetMfa: true });
          toast.success(`Two-factor authentication reset for ${user.name}`);
        }}
      />
    </>
  );
}
