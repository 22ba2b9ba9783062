import type { RoleView } from "@/lib/schemas/role";
import { Badge } from "@/components/ui/badge";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { formatTimeWindow, PRINCIPAL_KIND_LABELS } from "@/components/roles/role-summary";

function RiskBadges({ classes }: { classes: string[] }) {
  if (classes.length === 0) return <span className="text-muted-foreground">None</span>;
  return (
    <div className="flex flex-wrap gap-1">
      {classes.map((r) => (
        <Badge key={r} variant={r === "read" ? "secondary" : "warning"}>
          {r}
        </Badge>
      ))}
    </div>
  );
}

/** The read-only view of a portal role, for people who may not edit roles. */
export function RoleDetails({ role }: { role: RoleView }) {
  const c = role.conditions;
  return (
    <div className="flex flex-col gap-6">
      <Card>
        <CardHeader>
          <CardTitle>Principals</CardTitle>
          <CardDescription>Who holds this role.</CardDescription>
        </CardHeader>
        <CardContent>
          {role.principals.length === 0 ? (
            <p className="text-sm text-muted-foreground">Nobody holds this role yet.</p>
          ) : (
            <ul className="flex flex-wrap gap-2" aria-label="Principals">
              {role.principals.map((p) => (
                <li key={`${p.kind}:${p.value}`}>
                  <Badge variant="outline">
                    <span className="text-muted-foreground">{PRINCIPAL_KIND_LABELS[p.kind]}</span> {p.value}
                  </Badge>
                </li>
              ))}
            </ul>
          )}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Access grants</CardTitle>
          <CardDescription>What this role may use.</CardDescription>
        </CardHeader>
        <CardContent>
          {role.grants.length === 0 ? (
            <p className="text-sm text-muted-foreground">This role grants nothing.</p>
          ) : (
            <Table aria-label="Access grants">
              <TableHeader>
                <TableRow className="hover:bg-transparent">
                  <TableHead>Portal</TableHead>
                  <TableHead>Server</TableHead>
                  <TableHead>Tool</TableHead>
                  <TableHead>Risk classes</TableHead>
                </TableRow>
              </TableHeader>
              <TableBody>
                {role.grants.map((g) => (
                  <TableRow key={g.id}>
                    <TableCell className="font-medium">{g.portalSlug}</TableCell>
                    <TableCell>{g.serverSlug ?? <span className="text-muted-foreground">All servers</span>}</TableCell>
                    <TableCell className="font-mono text-xs">{g.toolName ?? <span className="font-sans text-muted-foreground">All tools</span>}</TableCell>
                    <TableCell>
                      <RiskBadges classes={g.riskClasses} />
                    </TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          )}
        </CardContent>
      </Card>

      <Card>
        <CardHeader>
          <CardTitle>Step-up and conditions</CardTitle>
        </CardHeader>
        <CardContent>
          <dl className="grid gap-x-6 gap-y-4 text-sm sm:grid-cols-[12rem_minmax(0,1fr)]">
            <dt className="font-medium">Step-up required for</dt>
            <dd>
              <RiskBadges classes={role.stepUpRiskClasses} />
            </dd>
            <dt className="font-medium">Time windows</dt>
            <dd>
              {c.timeWindows.length ? (
                <ul className="grid gap-1">
                  {c.timeWindows.map((w, i) => (
                    <li key={i}>{formatTimeWindow(w)}</li>
                  ))}
                </ul>
              ) : (
                <span className="text-muted-foreground">Any time</span>
              )}
            </dd>
            <dt className="font-medium">Networks</dt>
            <dd>
              {c.networks.length ? (
                <ul className="grid gap-1 font-mono text-xs">
                  {c.networks.map((n) => (
                    <li key={n}>{n}</li>
                  ))}
                </ul>
              ) : (
                <span className="text-muted-foreground">Any network</span>
              )}
            </dd>
            <dt className="font-medium">MFA required</dt>
            <dd>{c.mfaRequired ? "Yes" : "No"}</dd>
            <dt className="font-medium">Max look-back</dt>
            <dd>{c.maxLookbackDays === null ? <span className="text-muted-foreground">No limit</span> : `${c.maxLookbackDays} days`}</dd>
          </dl>
        </CardContent>
      </Card>
    </div>
  );
}
