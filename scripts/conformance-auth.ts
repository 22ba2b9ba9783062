/**
 * Runs the MCP conformance suite's authorization-server scenarios against a running Portico and
 * plays the person in the browser step (sign in, approve), so the run needs no one at the keyboard.
 *
 *   node --import tsx --conditions=react-server e2e/server.ts &      # the e2e install, seeded
 *   CONFORMANCE_NODE=/path/to/node22 npx tsx scripts/conformance-auth.ts
 *
 * Not part of `npm test`: the suite (`@modelcontextprotocol/conformance@0.2.0-alpha.12`, the first
 * with authorization-server scenarios) needs Node 22, and this machine and CI run Node 20. Install
 * both next to the repo: `npm i --prefix /tmp/conf node@22 @modelcontextprotocol/conformance@0.2.0-alpha.12`.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { chromium } from "@playwright/test";
import { E2E_BASE_URL, E2E_PASSWORD, E2E_PORTAL_URL, PERSONAS } from "../e2e/fixtures/constants";

const prefix = process.env.CONFORMANCE_PREFIX ?? "/tmp/conf";
const node = process.env.CONFORMANCE_NODE ?? path.join(prefix, "node_modules/node/bin/node");
const cli = path.join(prefix, "node_modules/@modelcontextprotocol/conformance/dist/index.js");
const CALLBACK_PORT = 3101;

async function registerClient(): Promise<string> {
  const res = await fetch(`${E2E_BASE_URL}/oauth/reg`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      client_name: "MCP conformance suite",
      redirect_uris: [`http://127.0.0.1:${CALLBACK_PORT}/callback`],
      token_endpoint_auth_method: "none",
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
    }),
  });
  if (res.status !== 201) throw new Error(`client registration failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { client_id: string }).client_id;
}

async function main() {
  const clientId = await registerClient();
  const suite = spawn(node, [cli, "authorization", "--url", `${E2E_BASE_URL}/oauth`, "--client-id", clientId, "--resource", E2E_PORTAL_URL, "-p", String(CALLBACK_PORT), "-o", "test-results/conformance"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = new Promise<number | null>((resolve) => suite.on("exit", resolve));
  let output = "";
  const authorizeUrl = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
      const match = /(http\S+\/oauth\/auth\?\S+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    suite.stdout.on("data", onData);
    suite.stderr.on("data", onData);
    void exited.then(() => reject(new Error("the suite ended before asking for the browser step")));
  });

  const browser = await chromium.launch({ executablePath: process.env.PLAYWRIGHT_CHROMIUM ?? "/usr/bin/chromium", args: ["--no-sandbox"] });
  try {
    const page = await browser.newPage();
    await page.goto(authorizeUrl);
    await page.getByLabel("Email").fill(PERSONAS.admin);
    await page.getByLabel("Password").fill(E2E_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("button", { name: "Approve" }).click();
    process.exitCode = (await exited) ?? 1;
  } finally {
    await browser.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
