/**
 * Runs the MCP conformance suite's server scenarios against Portico's own test upstreams
 * (gateway/testing/conformance-upstream.ts on SDK 1.x for 2025-11-25, conformance-upstream-v2.ts on
 * SDK 2.x for 2026-07-28) twice: directly, and through a portal in front of it
 * (its tools under their own names, a service account allowed everything, and a small proxy that
 * adds the bearer token the suite does not send). For 2025-11-25 and for `--requirements
 * 2026-07-28`. Prints one table per revision: scenario | direct | portal.
 *
 *   npm run conformance:server
 *
 * The suite (`@modelcontextprotocol/conformance@0.2.0-alpha.11`) needs Node 22; this machine and
 * CI run Node 20. The script uses `node@22` from the npm registry installed beside the repo
 * (CONFORMANCE_PREFIX, default /tmp/n22) and installs it there if it is missing; where that is
 * impossible (no registry) it prints why and exits 0, so CI can run it where it can.
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

import { startConformanceUpstream } from "../gateway/testing/conformance-upstream";
import { startConformanceUpstreamV2 } from "../gateway/testing/conformance-upstream-v2";
import { PORTAL, startHarness } from "../gateway/testing/harness";

const SUITE = "@modelcontextprotocol/conformance@0.2.0-alpha.11";
const prefix = process.env.CONFORMANCE_PREFIX ?? "/tmp/n22";
const node = path.join(prefix, "node_modules/node/bin/node");
const cli = path.join(prefix, "node_modules/@modelcontextprotocol/conformance/dist/index.js");

function ensureSuite(): string | null {
  if (existsSync(node) && existsSync(cli)) return null;
  console.log(`Installing node@22 and ${SUITE} into ${prefix} …`);
  const install = spawnSync("npm", ["i", "--prefix", prefix, "node@22", SUITE], { stdio: "inherit" });
  if (install.status !== 0 || !existsSync(node) || !existsSync(cli)) return `could not install node@22 and ${SUITE} into ${prefix} (npm exit ${install.status})`;
  return null;
}

type Outcome = "pass" | "FAIL" | "warn";

/** Runs the suite; returns each scenario's outcome, read from the checks it saved. */
async function runSuite(url: string, args: string[]): Promise<Map<string, Outcome>> {
  const out = mkdtempSync(path.join(os.tmpdir(), "portico-conformance-"));
  await new Promise<void>((resolve) => {
    const child = spawn(node, [cli, "server", "--url", url, ...args, "-o", out], { stdio: ["ignore", "ignore", "ignore"] });
    child.on("exit", () => resolve());
  });
  const outcomes = new Map<string, Outcome>();
  for (const dir of readdirSync(out)) {
    const scenario = dir.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
    const file = path.join(out, dir, "checks.json");
    if (!existsSync(file)) continue;
    const checks = JSON.parse(readFileSync(file, "utf8")) as { status: string }[];
    outcomes.set(scenario, checks.some((c) => c.status === "FAILURE") ? "FAIL" : checks.some((c) => c.status === "WARNING") ? "warn" : "pass");
  }
  return outcomes;
}

/** The suite sends no Authorization header: this adds the portal token, and passes everything else as it came. */
async function startTokenProxy(target: URL, token: string) {
  const server = http.createServer((req, res) => {
    const upstream = http.request(target, { method: req.method, headers: { ...req.headers, host: target.host, authorization: `Bearer ${token}` } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

function printTable(title: string, direct: Map<string, Outcome>, portal: Map<string, Outcome>) {
  const scenarios = [...new Set([...direct.keys(), ...portal.keys()])].sort();
  const width = Math.max(8, ...scenarios.map((s) => s.length));
  console.log(`\n${title}\n${"scenario".padEnd(width)} | direct | portal`);
  console.log(`${"-".repeat(width)}-|--------|-------`);
  for (const s of scenarios) console.log(`${s.padEnd(width)} | ${(direct.get(s) ?? "-").padEnd(6)} | ${portal.get(s) ?? "-"}`);
  const passing = (m: Map<string, Outcome>) => [...m.values()].filter((o) => o !== "FAIL").length;
  const lost = scenarios.filter((s) => direct.get(s) !== "FAIL" && direct.has(s) && portal.get(s) === "FAIL");
  console.log(`direct ${passing(direct)}/${direct.size} · portal ${passing(portal)}/${portal.size}${lost.length ? ` · passes direct, fails through the portal: ${lost.join(", ")}` : ""}`);
}

/** A portal that looks like its one server `slug`: tools under their own names, everything allowed, a token added. */
async function portalInFrontOf(upstreamUrl: string) {
  const h = await startHarness({ extraServers: [{ slug: "conf", url: upstreamUrl }] });
  const snapshot = h.snapshot(2);
  const portal = snapshot.portals[0]!;
  portal.dropServerPrefix = true;
  portal.servers = portal.servers.filter((s) => s.slug === "conf").map((s) => ({ ...s, tools: s.tools.map((t) => ({ ...t, exposedName: t.name })) }));
  snapshot.roles = snapshot.roles.map((r) => ({ ...r, grants: [{ portalSlug: PORTAL, serverSlug: null, toolName: null, riskClasses: ["read", "write", "destructive", "financial"] }], stepUpRiskClasses: [] }));
  h.cp.latest = { version: 2, jws: await h.sign(snapshot) };
  await h.gateway.store.accept(h.cp.latest);
  await h.waitForConfig(2);
  const proxy = await startTokenProxy(new URL(h.portalUrl()), await h.mintToken({}, { expiresIn: "2h" }));
  return {
    url: proxy.url,
    async close() {
      await proxy.close();
      await h.close();
    },
  };
}

async function main() {
  const skipped = ensureSuite();
  if (skipped) {
    console.log(`conformance:server skipped: ${skipped}`);
    return;
  }
  // 2025-11-25 against the SDK 1.x upstream (sessions, server-to-client requests on the stream);
  // 2026-07-28 against the SDK 2.x one (no session, input_required results).
  for (const [title, args, start] of [
    ["2025-11-25 (--spec-version 2025-11-25), SDK 1.x upstream", ["--spec-version", "2025-11-25"], startConformanceUpstream],
    ["2026-07-28 (--requirements 2026-07-28), SDK 2.x upstream", ["--requirements", "2026-07-28"], startConformanceUpstreamV2],
  ] as const) {
    // CONFORMANCE_REVISION=2026-07-28 runs one revision only (while working on it).
    if (process.env.CONFORMANCE_REVISION && !title.startsWith(process.env.CONFORMANCE_REVISION)) continue;
    const upstream = await start();
    const portal = await portalInFrontOf(upstream.url);
    try {
      const direct = await runSuite(upstream.url, [...args]);
      const throughPortal = await runSuite(portal.url, [...args]);
      printTable(title, direct, throughPortal);
    } finally {
      await portal.close();
      await upstream.close();
    }
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
