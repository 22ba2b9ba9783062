/**
 * The control plane's HTTP server: the Next.js app (dashboard, admin and internal APIs) and, on the
 * same origin, the OAuth 2.1 authorization server MCP clients and service accounts get tokens from.
 *
 * Why a custom server: the authorization server is panva's oidc-provider, a Koa application that
 * needs Node's `(req, res)`; App Router route handlers only get Web `Request`s. Requests for the
 * issuer (`/oauth/…`) and its RFC 8414 path-inserted metadata go to the provider, everything else
 * to Next.js.
 *
 * Run after `next build`:  node --import tsx --conditions=react-server server.ts
 * (HOST, default 127.0.0.1, and PORT, default 3000, choose where it listens.)
 */
import { createServer } from "node:http";
import next from "next";
import { clientAddress, trustedProxies } from "@/lib/client-address";
import { CLIENT_IP_HEADER } from "@/lib/server/auth/request-context";
import { startAlerting } from "@/lib/server/alerts/start";
import { startPeriodicPublish } from "@/lib/server/config-publisher";
import { startHourlyCheckpoints } from "@/lib/server/audit-checkpoints";
import { startDailyVerification } from "@/lib/server/audit-verify";
import { startVerificationSweep } from "@/lib/server/audit-verification-jobs";
import { startDailyPurge } from "@/lib/server/audit-retention";
import { startSiemDelivery } from "@/lib/server/log-destinations";
import { getDb } from "@/lib/server/db/instance";
import { env } from "@/lib/server/env";
import { describeError, log } from "@/lib/server/log";
import { oauthKeyFingerprint } from "@/lib/server/oauth/keys";
import { createOAuthRequestHandler, oauthIssuer } from "@/lib/server/oauth/mount";
import { registerRunningProvider } from "@/lib/server/oauth/interactions";
import { startControlPlaneTracing, traceHttpRequests } from "@/lib/server/tracing";
import { createOAuthProvider } from "@/lib/server/oauth/provider";

const hostname = process.env.HOST ?? "127.0.0.1";
const port = Number(process.env.PORT ?? 3000);

async function main() {
  // Fails fast, naming the variable, before anything listens.
  env();
  // Before Next.js starts, so that it finds the provider and adds its own spans under ours.
  const tracing = await startControlPlaneTracing({ endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: process.env.OTEL_SERVICE_NAME });
  if (tracing) log("info", "traces exported over OTLP", { endpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT });
  const app = next({ dev: false, hostname, port });
  await app.prepare();
  const handleNext = app.getRequestHandler();
  const db = await getDb();
  // The provider is built from the signing keys; a rotation (here or in another control-plane
  // process) rebuilds it, and requests in progress finish on the one they started on.
  let handleOAuth: ReturnType<typeof createOAuthRequestHandler> = () => false;
  let loadedKeys: string | null = null;
  const reload = async () => {
    const provider = await createOAuthProvider(db);
    if (loadedKeys !== null) log("info", "authorization server reloaded with its current signing keys");
    loadedKeys = await oauthKeyFingerprint(db);
    handleOAuth = createOAuthRequestHandler(provider);
    // The sign-in and consent pages (Next.js, same process) finish authorization requests on it.
    registerRunningProvider(provider, reload);
  };
  await reload();
  setInterval(() => {
    oauthKeyFingerprint(db)
      .then((keys) => (keys === loadedKeys ? undefined : reload()))
      .catch((error: unknown) => log("warn", "could not check the authorization server's signing keys", describeError(error)));
  }, 30_000).unref();

  startPeriodicPublish(db);
  await startAlerting(db);
  startHourlyCheckpoints(db);
  startDailyVerification(db);
  startVerificationSweep(db);
  startDailyPurge(db);
  startSiemDelivery(db);

  const configuredProxies = process.env.PORTICO_TRUSTED_PROXIES?.trim();
  const isTrustedProxy = trustedProxies(configuredProxies);
  // With no list, an https issuer means one TLS-terminating proxy in front, as the authorization
  // server has always assumed (provider.ts): the entry it appends is believed, none before it.
  const trustsFirstHop = !configuredProxies && oauthIssuer().startsWith("https://");
  const server = createServer(traceHttpRequests((req, res) => {
    // Set on every request, so a client cannot choose the address sign-in throttles and the audit see.
    const forwarded = req.headers["x-forwarded-for"];
    const peer = clientAddress(req.socket.remoteAddress, undefined, isTrustedProxy);
    const isTrusted = trustsFirstHop ? (address: string) => address === peer : isTrustedProxy;
    req.headers[CLIENT_IP_HEADER] = clientAddress(req.socket.remoteAddress, Array.isArray(forwarded) ? forwarded.join(",") : forwarded, isTrusted) ?? "";
    if (handleOAuth(req, res)) return;
    handleNext(req, res).catch((error: unknown) => {
      log("error", "unhandled error in the Next.js handler", { path: req.url?.split("?")[0], ...describeError(error) });
      if (!res.headersSent) res.writeHead(500, { "content-type": "text/plain" });
      res.end("Internal Server Error");
    });
  }));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, hostname, resolve);
  });
  log("info", "control plane listening", { url: `http://${hostname}:${port}`, issuer: oauthIssuer() });

  let isStopping = false;
  const stop = (signal: string) => {
    if (isStopping) return;
    isStopping = true;
    log("info", "control plane stopping", { signal });
    server.close(() => {
      // Spans still queued are sent before exiting.
      void app
        .close()
        .then(() => tracing?.shutdown())
        .finally(() => process.exit(0));
    });
    // Keep-alive connections would hold close() open; do not wait for them for long.
    setTimeout(() => process.exit(0), 5_000).unref();
    server.closeIdleConnections();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  log("error", "control plane failed to start", describeError(error));
  process.exit(1);
});
