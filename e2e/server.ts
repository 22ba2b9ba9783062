/**
 * The system under test for Playwright: the production build of the control plane on a fresh
 * embedded database, seeded with the demo, a gateway, the bundled demo MCP servers, and a real
 * OIDC provider as the company IdP. Started by playwright.config.ts as its webServer.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { randomBytes } from "node:crypto";
import { deriveGatewayCredentialKey } from "../lib/config/sealed-credential";
import { needsBuild } from "../scripts/lib/build-stamp";
import { buildGateway } from "../scripts/lib/gateway-bundle";
import { spawnControlPlane, spawnGateway, waitForHttp } from "../scripts/lib/launch";
import {
  E2E_BASE_URL,
  E2E_DEMO_PORTS,
  E2E_GATEWAY_TOKEN,
  E2E_GATEWAY_URL,
  E2E_IDP_PORT,
  E2E_PASSWORD,
  E2E_DB_HOOK_PORT,
  E2E_PORT,
  E2E_SERVICE_ACCOUNT_SECRET,
} from "./fixtures/constants";
import { startIdentityProvider } from "./fixtures/identity-provider";

const root = path.resolve(import.meta.dirname, "..");
const dataDir = path.join(root, ".data", "e2e");

// Tests create and delete freely: never point them at a database that is not on this machine.
const url = process.env.DATABASE_URL;
if (url && !/^postgres(ql)?:\/\/[^@/]*@?(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(url)) {
  throw new Error("Refusing to run end-to-end tests against a non-local DATABASE_URL");
}

fs.rmSync(dataDir, { recursive: true, force: true });
fs.mkdirSync(dataDir, { recursive: true });

const env: NodeJS.ProcessEnv = {
  ...process.env,
  NODE_ENV: "production",
  NEXT_TELEMETRY_DISABLED: "1",
  PORTICO_DATA_DIR: dataDir,
  PORTICO_SECRET_KEY: randomBytes(32).toString("base64"),
  AUTH_SECRET: randomBytes(32).toString("base64url"),
  AUTH_URL: E2E_BASE_URL,
  PORTICO_CONTROL_PLANE_URL: E2E_BASE_URL,
  PORTICO_GATEWAY_URL: E2E_GATEWAY_URL,
  PORTICO_GATEWAY_TOKEN: E2E_GATEWAY_TOKEN,
  OIDC_ISSUER: `http://127.0.0.1:${E2E_IDP_PORT}`,
  OIDC_CLIENT_ID: "portico-e2e",
  OIDC_CLIENT_SECRET: "portico-e2e-secret",
  OIDC_NAME: "Acme SSO",
  OIDC_ROLE_MAP: "finops-admins=admin,finops-managers=approver,finops-auditors=auditor,finops-analysts=viewer",
  OIDC_DEFAULT_ROLE: "none",
  LOCKOUT_THRESHOLD: "5",
};
delete env.DATABASE_URL;
Object.assign(process.env, env);

async function main() {
  if (needsBuild(root)) {
    const build = spawnSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], { cwd: root, env, stdio: "inherit" });
    if (build.status !== 0) throw new Error("next build failed");
  }
  const idp = await startIdentityProvider({
    port: E2E_IDP_PORT,
    redirectUri: `${E2E_BASE_URL}/api/auth/callback/oidc`,
    clientId: env.OIDC_CLIENT_ID!,
    clientSecret: env.OIDC_CLIENT_SECRET!,
  });
  const { startDemoServers } = await import("../demo/servers");
  const demo = await startDemoServers({ ports: E2E_DEMO_PORTS });

  const { openDatabase } = await import("../lib/server/db/client");
  const { applyMigrations } = await import("../lib/server/db/migrate");
  const { seedDemo } = await import("../prisma/seed");
  const opened = await openDatabase({ dataDir: path.join(dataDir, "pglite") });
  await applyMigrations(opened.adapterFactory);
  // The budgets server is left out of the seed: registering it is one of the journeys.
  await seedDemo(opened.db, {
    demoPassword: E2E_PASSWORD,
    servers: demo.servers.filter((s) => s.id !== "budgets"),
    serviceAccountSecret: E2E_SERVICE_ACCOUNT_SECRET,
  });
  await opened.close();

  await buildGateway(root);
  // The control plane alone gets the test-only SQL hook (e2e/fixtures/db-hook.mjs).
  const hook = `--import ${JSON.stringify(path.join(root, "e2e/fixtures/db-hook.mjs"))}`;
  const controlPlaneEnv = { ...env, PORTICO_E2E_DB_HOOK_PORT: String(E2E_DB_HOOK_PORT), NODE_OPTIONS: [env.NODE_OPTIONS, hook].filter(Boolean).join(" ") };
  const controlPlane = spawnControlPlane(root, controlPlaneEnv, { host: "127.0.0.1", port: E2E_PORT });
  const gateway = spawnGateway(root, env, {
    gatewayUrl: E2E_GATEWAY_URL,
    controlPlaneUrl: E2E_BASE_URL,
    gatewayToken: E2E_GATEWAY_TOKEN,
    credentialKey: deriveGatewayCredentialKey(env.PORTICO_SECRET_KEY!).toString("base64"),
    dataDir: path.join(dataDir, "gateway"),
    name: "e2e",
  });
  const children = [controlPlane, gateway];
  for (const child of children) child.stdout?.pipe(process.stdout);
  const stop = async () => {
    for (const child of children) child.kill("SIGTERM");
    await Promise.allSettled([demo.close(), idp.close()]);
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  for (const [name, child] of [["control plane", controlPlane], ["gateway", gateway]] as const) {
    child.on("exit", (code) => {
      process.stderr.write(`e2e ${name} exited with ${code}\n`);
      void stop();
    });
  }
  // Playwright waits for the sign-in page; the gateway must be serving by then too.
  await waitForHttp(`${E2E_BASE_URL}/sign-in`, 120_000);
  await waitForHttp(`${E2E_GATEWAY_URL}/readyz`, 60_000, (status) => status === 200);
}

main().catch((error: unknown) => {
  process.stderr.write(`e2e server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
