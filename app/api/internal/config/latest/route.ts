import { AppError } from "@/lib/errors";
import { internalRoute } from "@/lib/server/http";
import { publishConfig } from "@/lib/server/config-publisher";
import { latestSignedConfig } from "@/lib/server/gateways";

export const GET = internalRoute(async ({ db }) => {
  // Publishing first (a no-op when nothing changed) also catches changes made outside the API,
  // such as the demo seed or a first install, so a starting gateway never runs stale config.
  await publishConfig(db, "config requested by a gateway");
  const latest = await latestSignedConfig(db);
  if (!latest) throw new AppError("unavailable", "No config version could be published; see the control plane's log");
  return latest;
});
