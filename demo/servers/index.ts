import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";

import { createBudgetStore, createBudgetsServer } from "./budgets";
import { createCostExplorerServer } from "./cost-explorer";
import { startMcpHttpServer, type McpHttpServer } from "./http";
import { createTaggingServer, createTaggingStore } from "./tagging";

export { createBudgetStore, createBudgetsServer } from "./budgets";
export { createCostExplorerServer } from "./cost-explorer";
export { startMcpHttpServer } from "./http";
export { createTaggingServer, createTaggingStore } from "./tagging";

export type DemoServerId = "cost-explorer" | "tagging" | "budgets";

export interface DemoServerInfo {
  id: DemoServerId;
  name: string;
  description: string;
  defaultPort: number;
}

export const DEMO_SERVERS: readonly DemoServerInfo[] = [
  {
    id: "cost-explorer",
    name: "Cost Explorer",
    description: "Read-only cloud spend: summaries, daily costs, top services and month-end forecasts.",
    defaultPort: 4101,
  },
  {
    id: "tagging",
    name: "Resource Tagging",
    description: "Finds resources missing cost-allocation tags and sets or removes tags.",
    defaultPort: 4102,
  },
  {
    id: "budgets",
    name: "Budgets",
    description: "Monthly cost budgets: status against spend and forecast, and creating, changing or deleting budgets.",
    defaultPort: 4103,
  },
];

export type DemoRiskClass = "read" | "write" | "destructive" | "financial";

/**
 * The risk class each demo tool is meant to carry in Portico. Annotations alone cannot express
 * "financial" (create_budget looks like any other non-destructive write), which is why this map exists.
 */
export const DEMO_RISK_CLASSES: Record<string, Record<string, DemoRiskClass>> = {
  "cost-explorer": {
    get_cost_summary: "read",
    get_daily_costs: "read",
    top_services: "read",
    forecast_month_end: "read",
    list_accounts: "read",
  },
  tagging: {
    list_untagged_resources: "read",
    tag_resource: "write",
    remove_tag: "destructive",
  },
  budgets: {
    list_budgets: "read",
    get_budget_status: "read",
    create_budget: "financial",
    update_budget_limit: "financial",
    delete_budget: "destructive",
  },
};

export interface StartDemoServersOptions {
  host?: string;
  ports?: Partial<Record<DemoServerId, number>>;
}

export interface RunningDemoServers {
  servers: { id: string; name: string; description: string; url: string }[];
  close(): Promise<void>;
}

/** A server factory per id; stores are created here so that state lasts as long as one running server. */
function serverFactory(id: DemoServerId): () => McpServer {
  switch (id) {
    case "cost-explorer":
      return () => createCostExplorerServer();
    case "tagging": {
      const store = createTaggingStore();
      return () => createTaggingServer({ store });
    }
    case "budgets": {
      const store = createBudgetStore();
      return () => createBudgetsServer({ store });
    }
  }
}

export async function startDemoServers(options: StartDemoServersOptions = {}): Promise<RunningDemoServers> {
  const started: { info: DemoServerInfo; http: McpHttpServer }[] = [];
  const closeAll = async () => {
    await Promise.all(started.map(({ http }) => http.close()));
  };
  try {
    for (const info of DEMO_SERVERS) {
      const http = await startMcpHttpServer({
        createServer: serverFactory(info.id),
        port: options.ports?.[info.id] ?? info.defaultPort,
        host: options.host,
      });
      started.push({ info, http });
    }
  } catch (error) {
    // One port in use must not leave the other two listening.
    await closeAll();
    throw error;
  }
  return {
    servers: started.map(({ info, http }) => ({ id: info.id, name: info.name, description: info.description, url: http.url })),
    close: closeAll,
  };
}
