import type { RiskClass } from "@/lib/schemas/common";
import { Badge, type BadgeVariant } from "@/components/ui/badge";
import { RISK_META } from "@/components/servers/format";

const SERVER_STATUS: Record<string, { label: string; variant: BadgeVariant }> = {
  ready: { label: "Ready", variant: "success" },
  waiting: { label: "Waiting", variant: "secondary" },
  stale: { label: "Stale", variant: "warning" },
  error: { label: "Error", variant: "destructive" },
};

export function ServerStatusBadge({ status }: { status: string }) {
  const known = SERVER_STATUS[status] ?? { label: status, variant: "outline" as const };
  return <Badge variant={known.variant}>{known.label}</Badge>;
}

export function RiskClassBadge({ riskClass }: { riskClass: string }) {
  const known = Object.hasOwn(RISK_META, riskClass) ? RISK_META[riskClass as RiskClass] : { label: riskClass, variant: "outline" as const };
  return <Badge variant={known.variant}>{known.label}</Badge>;
}

export function AllowlistBadge({ isOn }: { isOn: boolean }) {
  return isOn ? (
    <Badge variant="info" title="Tools that appear later stay off until an admin enables them">
      Allowlist
    </Badge>
  ) : (
    <Badge variant="outline" title="Tools that appear later are on by default">
      Open
    </Badge>
  );
}

/** What a read-only user sees instead of a switch. */
export function OnOffBadge({ isOn, label }: { isOn: boolean; label?: string }) {
  return <Badge variant={isOn ? "success" : "outline"}>{label ?? (isOn ? "On" : "Off")}</Badge>;
}
