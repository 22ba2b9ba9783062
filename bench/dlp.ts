/**
 * `npx tsx bench/dlp.ts`: what DLP adds to a typical 2 KB tool call at the gateway. It runs the
 * very stages the gateway runs (inspect-request on the arguments, inspect-response on the result,
 * the audit-copy preparation) on a 2 KB call, against the same call with DLP off (no scanner), in
 * the same run, and prints p50/p95 per call and the added cost. Bar (issue 11): ≤ 0.2 ms p50.
 *
 *   npx tsx bench/dlp.ts [--calls 20000] [--with-match]
 *
 * `--with-match` puts a card number and an e-mail in the arguments (the redaction path);
 * otherwise the payload is clean (the common case). One admin pattern is always loaded.
 */
import { performance } from "node:perf_hooks";

import { buildGatewayState } from "../gateway/portal-index";
import { createInspectRequest } from "../gateway/stages/inspect-request";
import { createInspectResponse } from "../gateway/stages/inspect-response";
import { createResolve } from "../gateway/stages/resolve";
import { callOf, config, riskPolicy } from "../gateway/testing/stage-fixtures";

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const calls = Number(arg("--calls") ?? 20_000);
const withMatch = process.argv.includes("--with-match");

function payload(): { args: Record<string, unknown>; result: Record<string, unknown> } {
  const rows = Array.from({ length: 12 }, (_, i) => ({ service: `AmazonEC2-${i}`, account: `1234567890${i % 10}`, cost: 1234.56 + i, currency: "USD", region: "eu-west-3" }));
  const args = {
    month: "2026-10",
    accounts: ["123456789012", "210987654321"],
    groupBy: ["SERVICE", "REGION"],
    note: withMatch ? "charge card 4111 1111 1111 1111 and tell alice@example.com" : "monthly review of the top services for the finance committee",
    filters: { tags: { team: "finops", env: "prod" }, minCost: 10 },
  };
  const result = { content: [{ type: "text", text: JSON.stringify(rows) }], structuredContent: { rows } };
  return { args, result };
}

const { args, result } = payload();
const bytes = Buffer.byteLength(JSON.stringify(args)) + Buffer.byteLength(JSON.stringify(result));

const withDlp = buildGatewayState({ ...config, dlpPatterns: [{ id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" }] }, "http://gw", riskPolicy);
const withoutDlp = buildGatewayState(config, "http://gw", riskPolicy);
for (const portal of withoutDlp.portals.values()) portal.dlp = undefined;

const inspectRequest = createInspectRequest();
const inspectResponse = createInspectResponse();

function once(state: typeof withDlp): number {
  const call = callOf("tools/call", { name: "a_read", arguments: args });
  createResolve({ getState: () => state, hasDrifted: () => false })(call);
  const started = performance.now();
  inspectRequest(call);
  call.result = result;
  inspectResponse.inspect(call, { result });
  inspectResponse.forAudit(call);
  return performance.now() - started;
}

function measure(state: typeof withDlp): number[] {
  for (let i = 0; i < 2000; i++) once(state);
  const out: number[] = [];
  for (let i = 0; i < calls; i++) out.push(once(state));
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
const fmt = (ms: number) => `${(ms * 1000).toFixed(1)} µs`;

const off = measure(withoutDlp);
const on = measure(withDlp);
const added = pct(on, 50) - pct(off, 50);
const load = (await import("node:os")).loadavg()[0]!.toFixed(2);
process.stdout.write(
  [
    `DLP cost per call: ${bytes} bytes of arguments and result, ${calls} calls, ${withMatch ? "with matches (redaction path)" : "clean payload"}; load average ${load}`,
    `  DLP off:  p50 ${fmt(pct(off, 50))}  p95 ${fmt(pct(off, 95))}`,
    `  DLP on:   p50 ${fmt(pct(on, 50))}  p95 ${fmt(pct(on, 95))}`,
    `  added p50 ${fmt(added)}  (bar ≤ 200 µs: ${added <= 0.2 ? "PASS" : "FAIL"})`,
    "",
  ].join("\n"),
);
