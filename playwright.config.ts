import { defineConfig } from "@playwright/test";
import { E2E_BASE_URL, E2E_GATEWAY_URL } from "./e2e/fixtures/constants";

// Debian's Chromium: Playwright's own browser download cannot run on this offline machine.
const chromium = process.env.PLAYWRIGHT_CHROMIUM ?? "/usr/bin/chromium";

export default defineConfig({
  testDir: "e2e",
  testMatch: "**/*.spec.ts",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  timeout: 60_000,
  expect: { timeout: 10_000 },
  reporter: process.env.CI ? [["list"]] : [["list"], ["html", { open: "never" }]],
  use: {
    baseURL: E2E_BASE_URL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    launchOptions: {
      executablePath: chromium,
      args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    },
  },
  webServer: {
    command: "node --import tsx --conditions=react-server e2e/server.ts",
    // Ready when the gateway is: it starts after the control plane and has pulled its config.
    url: `${E2E_GATEWAY_URL}/readyz`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
  },
});
