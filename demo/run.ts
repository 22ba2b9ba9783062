/**
 * Starts the three demo FinOps MCP servers: `npx tsx demo/run.ts`.
 * Prints `<id>: <url>` per server so scripts can parse the output.
 */
import { startDemoServers } from "./servers/index";

async function main() {
  const demo = await startDemoServers();
  for (const server of demo.servers) {
    process.stdout.write(`${server.id}: ${server.url}\n`);
  }

  let isStopping = false;
  const stop = (signal: NodeJS.Signals) => {
    // A second Ctrl-C means "now", even if a client is holding a connection open.
    if (isStopping) process.exit(130);
    isStopping = true;
    process.stderr.write(`${signal}: stopping demo servers\n`);
    demo.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
