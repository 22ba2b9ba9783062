import { apiRoute, queryOf } from "@/lib/server/http";
import { exportConfig, exportParams, serializeConfig } from "@/lib/server/config-changes";

export const GET = apiRoute(async ({ db, actor, req }) => {
  const document = await exportConfig(db, actor);
  const { format } = exportParams.parse(queryOf(req));
  return new Response(serializeConfig(document, format), {
    headers: {
      "content-type": format === "yaml" ? "application/yaml; charset=utf-8" : "application/json; charset=utf-8",
      "content-disposition": `attachment; filename="portico-config.${format}"`,
    },
  });
});
