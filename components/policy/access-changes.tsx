import type { AccessChange } from "@/lib/server/policy-explainer";
import { Badge } from "@/components/ui/badge";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";

const EFFECT: Record<AccessChange["before"], string> = { allow: "allowed", deny: "denied", step_up: "needs step-up", "not offered": "not offered" };

/** Who would lose or gain what, one row per caller and tool they used. */
export function AccessChanges({ changes }: { changes: AccessChange[] }) {
  if (changes.length === 0) return <p className="text-sm text-muted-foreground">Nobody who made calls in that period would lose or gain anything.</p>;
  return (
    <Table aria-label="Access changes">
      <TableHeader>
        <TableRow>
          <TableHead>Who</TableHead>
          <TableHead>Tool</TableHead>
          <TableHead>Change</TableHead>
          <TableHead>Calls</TableHead>
          <TableHead>Why</TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {changes.map((c) => (
          <TableRow key={`${c.principal}:${c.portal}:${c.tool}`}>
            <TableCell className="text-sm">{c.principal}</TableCell>
            <TableCell className="font-mono text-xs">
              {c.portal}/{c.tool}
            </TableCell>
            <TableCell className="text-sm whitespace-nowrap">
              <Badge variant={c.change === "loses" ? "destructive" : c.change === "gains" ? "success" : "warning"}>{c.change === "loses" ? "Loses" : c.change === "gains" ? "Gains" : "Changes"}</Badge>{" "}
              {EFFECT[c.before]} → {EFFECT[c.after]}
            </TableCell>
            <TableCell>{c.calls}</TableCell>
            <TableCell className="text-xs">{c.reasons.join("; ")}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
