import { AppError } from "@/lib/errors";
import { internalRoute } from "@/lib/server/http";
import { latestSignedConfig } from "@/lib/server/gateways";

export const GET = internalRoute(async ({ db }) => {
  const latest = await latestSignedConfig(db);
  if (!latest) throw new AppError("not_found", "No config version has been published yet");
  return latest;
});
