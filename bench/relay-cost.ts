/**
 * What the relay costs (issue 17): a client that declared sampling, elicitation or roots has its
 * calls run on an upstream connection leased to its session (gateway/relay.ts), so that a request
 * from the upstream reaches the right client. This prints, in one run and one process (so read
 * the ratios, not the absolute figures, on a loaded machine):
 *
 *   - mean tools/call through the gateway for a plain client (shared connection, direct path);
 *   - the same for a client that can be asked things, once its session's lease exists;
 *   - the first call of such a session (which opens the lease: initialize + initialized upstream).
 *
 *   npx tsx bench/relay-cost.ts [--calls 300] [--sessions 30]
 */
import os from "node:os";
import { performance } from "node:perf_hooks";

import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { ClientCapabilities } from "@modelcontextprotocol/sdk/types.js";

import { startConformanceUpstream } from "../gateway/testing/conformance-upstream";
import { startHarness } from "../gateway/testing/harness";

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const CALLS = arg("calls", 300);
const SESSIONS = arg("sessions", 30);

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main() {
  const upstream = await startConformanceUpstream();
  const h = await startHarness({ extraServers: [{ slug: "conf", url: upstream.url }] });
  const token = await h.mintToken({}, { expiresIn: "1h" });
  const connect = async (capabilities: ClientCapabilities) => {
    const client = new Client({ name: "bench", version: "1" }, { capabilities });
    await client.connect(new StreamableHTTPClientTransport(new URL(h.portalUrl()), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    return client;
  };
  const call = async (client: Client) => {
    const started = performance.now();
    await client.callTool({ name: "conf_test_simple_text", arguments: {} });
    return performance.now() - started;
  };
  try {
    const plain = await connect({});
    const asked = await connect({ sampling: {}, elicitation: {}, roots: {} });
    for (let i = 0; i < 50; i++) {
      await call(plain);
      await call(asked);
    }
    // Interleaved, so a noisy neighbour lands on both.
    const plainMs: number[] = [];
    const askedMs: number[] = [];
    for (let i = 0; i < CALLS; i++) {
      plainMs.push(await call(plain));
      askedMs.push(await call(asked));
    }
    await plain.close();
    await asked.close();

    const firstPlain: number[] = [];
    const firstAsked: number[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      for (const [caps, into] of [
        [{}, firstPlain],
        [{ sampling: {} }, firstAsked],
      ] as const) {
        const client = await connect(caps);
        into.push(await call(client));
        await (client.transport as StreamableHTTPClientTransport).terminateSession();
        await client.close();
      }
    }
    const fmt = (xs: number[]) => `mean ${mean(xs).toFixed(2)} ms, median ${median(xs).toFixed(2)} ms`;
    console.log(`load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")} on ${os.cpus().length} cores; ${CALLS} calls each, ${SESSIONS} sessions each`);
    console.log(`tools/call, plain client (shared connection):          ${fmt(plainMs)}`);
    console.log(`tools/call, client that can be asked (leased):         ${fmt(askedMs)}  (×${(mean(askedMs) / mean(plainMs)).toFixed(2)})`);
    console.log(`first call of a new session, plain:                    ${fmt(firstPlain)}`);
    console.log(`first call of a new session that can be asked (lease): ${fmt(firstAsked)}  (+${(mean(firstAsked) - mean(firstPlain)).toFixed(2)} ms)`);
  } finally {
    await h.close();
    await upstream.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
