import { apiRoute, queryOf } from "@/lib/server/http";
import { costAttributionCsv, getCostAttribution } from "@/lib/server/dashboards";

// ?format=csv downloads the table as a spreadsheet would open it.
export const GET = apiRoute(async ({ db, actor, req }) => {
  const { format, ...params } = queryOf(req);
  const rows = await getCostAttribution(db, actor, params);
  if (format !== "csv") return { items: rows };
  return new Response(costAttributionCsv(rows), {
    headers: { "content-type": "text/csv; charset=utf-8", "content-disposition": `attachment; filename="portico-cost-attribution-${params.range ?? "24h"}.csv"` },
  });
});
