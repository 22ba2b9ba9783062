import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { AUDIT_KINDS, invalidFilters, kindLabel, targetLabel } from "@/components/audit/audit-format";
import type { AuditEventView } from "@/lib/schemas/audit";

/** Every .ts source file (tests excluded) under `dir`. */
function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith(".ts") && !e.name.endsWith(".test.ts") ? [p] : [];
  });
}

/** The audit kinds the code writes: `kind: "x.y"` literals, `kind: "alert"`, and the step-up kinds built as `stepup.${kind}`. */
function writtenKinds(): string[] {
  const kinds = new Set<string>();
  for (const file of [...sources("lib/server"), ...sources("gateway")]) {
    const text = fs.readFileSync(file, "utf8");
    // The value up to its comma, so that `kind: ok ? "audit.verify" : "audit.verify.failed",` gives both.
    for (const [, value] of text.matchAll(/\bkind: ([^,\n]+)/g)) {
      for (const m of value!.matchAll(/"([a-z_]+(?:\.[a-z_]+)+|alert)"/g)) kinds.add(m[1]!);
    }
    const stepUp = /type StepUpKind = ([^;]+);/.exec(text);
    if (stepUp && text.includes("kind: `stepup.${kind}`")) for (const m of stepUp[1]!.matchAll(/"([a-z_]+)"/g)) kinds.add(`stepup.${m[1]}`);
  }
  return [...kinds].sort();
}

describe("audit kinds in the explorer", () => {
  it("lists every kind the control plane and the gateway write, with a readable label", () => {
    const written = writtenKinds();
    // The scan itself must find the kinds the reviewer missed, or it proves nothing.
    expect(written).toEqual(expect.arrayContaining(["stepup.requested", "stepup.withdrawn", "alert", "mcp.server_request", "audit.purge", "audit.verify.failed"]));
    const listed = AUDIT_KINDS.map((k) => k.value as string);
    expect(written.filter((k) => !listed.includes(k))).toEqual([]);
    for (const kind of written) expect(kindLabel(kind)).not.toBe(kind);
    expect(kindLabel("stepup.requested")).toBe("Step-up requested");
  });
});

describe("invalidFilters", () => {
  it("names the filters in the address the API would refuse", () => {
    expect(invalidFilters({ range: "6w", outcome: "bogus", kind: "auth.mfa" }).map((f) => [f.key, f.label, f.value])).toEqual([
      ["range", "Time range", "6w"],
      ["outcome", "Decision", "bogus"],
    ]);
  });

  it("accepts every range the overview offers, 6h included", () => {
    for (const range of ["1h", "6h", "24h", "7d", "30d", "custom"]) expect(invalidFilters({ range })).toEqual([]);
  });
});

describe("targetLabel", () => {
  const base: AuditEventView = {
    id: "e1",
    seq: "1",
    time: "2026-12-07T10:00:00.000Z",
    kind: "alert",
    actorType: "system",
    actorId: null,
    actorLabel: "alert engine",
    action: "alert.raise",
    outcome: "success",
    targetType: "alert",
    targetId: "cmxdlo6k7000001",
    portal: null,
    server: null,
    tool: null,
    reasons: ["Denials spiked on finops"],
    data: { rule: "denials" },
    sourceIp: null,
    requestId: null,
  };

  it("shows an alert's title, not its id", () => {
    expect(targetLabel(base)).toBe("Denials spiked on finops");
  });
});
