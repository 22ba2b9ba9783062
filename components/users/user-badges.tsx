import { roleLabels, type DashboardRole } from "@/lib/auth/permissions";
import type { UserView } from "@/lib/schemas/user";
import { Badge, type BadgeVariant } from "@/components/ui/badge";

const ROLE_VARIANT: Record<DashboardRole, BadgeVariant> = { admin: "default", approver: "info", auditor: "secondary", viewer: "outline" };

export function RoleBadge({ role }: { role: DashboardRole }) {
  return <Badge variant={ROLE_VARIANT[role]}>{roleLabels[role]}</Badge>;
}

export function userStatus(user: Pick<UserView, "disabled" | "locked">): "disabled" | "locked" | "active" {
  return user.disabled ? "disabled" : user.locked ? "locked" : "active";
}

export function StatusBadge({ user }: { user: Pick<UserView, "disabled" | "locked"> }) {
  const status = userStatus(user);
  if (status === "disabled") return <Badge variant="secondary">Disabled</Badge>;
  if (status === "locked") return <Badge variant="warning">Locked</Badge>;
  return <Badge variant="success">Active</Badge>;
}

export function MfaBadge({ enabled }: { enabled: boolean }) {
  return enabled ? <Badge variant="success">On</Badge> : <Badge variant="outline">Off</Badge>;
}

export function SourceLabel({ source }: { source: string }) {
  return <span className="text-muted-foreground">{source === "sso" ? "SSO" : source === "local" ? "Local" : source}</span>;
}
