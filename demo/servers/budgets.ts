import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

import {
  BILLING_ACCOUNT_IDS,
  BILLING_CURRENT_MONTH,
  BILLING_SERVICES,
  BILLING_TEAMS,
  type BillingService,
  type BillingTeam,
  centsToUsd,
  forecastMonthEnd,
  percentOf,
} from "./billing-data";
import {
  DEMO_SERVER_VERSION,
  type DemoServerOptions,
  errorResult,
  jsonResult,
  monthSchema,
  noDataForMonthMessage,
  resolveDescriptions,
  usdAmountSchema,
  usdToCents,
} from "./tool-helpers";

export const BUDGETS_TOOL_DESCRIPTIONS = {
  list_budgets: "All monthly cost budgets with their scope (team, account, service) and limit in USD.",
  get_budget_status: "Spend against one budget for a month: spend so far, month-end forecast, and whether it is on track, at risk or over.",
  create_budget: "Create a monthly cost budget for a team, account and/or service, with a limit in USD.",
  update_budget_limit: "Change the monthly limit of an existing budget, in USD.",
  delete_budget: "Delete a budget. Its alerts stop immediately and the budget cannot be restored.",
} as const;

export type BudgetsToolName = keyof typeof BUDGETS_TOOL_DESCRIPTIONS;

export interface BudgetScope {
  team?: BillingTeam;
  accountId?: string;
  service?: BillingService;
}

export interface Budget {
  id: string;
  name: string;
  limitCents: number;
  scope: BudgetScope;
}

/** Budgets of one running budgets server; outside the `McpServer` because stateless HTTP makes one per request. */
export interface BudgetStore {
  budgets: Map<string, Budget>;
}

/** Bounds memory: a client looping on create_budget must not grow the process without limit. */
export const MAX_BUDGETS = 100;

// Seeded so the current month shows one budget of each status: on track, at risk and over budget.
const SEED_BUDGETS: readonly Budget[] = [
  { id: "bgt-platform-monthly", name: "Platform monthly", limitCents: 2_000_000, scope: { team: "platform" } },
  { id: "bgt-checkout-prod", name: "Checkout production", limitCents: 1_100_000, scope: { team: "checkout", accountId: "123456789012" } },
  { id: "bgt-snowflake", name: "Snowflake warehouse", limitCents: 900_000, scope: { service: "Snowflake" } },
  { id: "bgt-ml-experiments", name: "ML experiments", limitCents: 400_000, scope: { team: "ml" } },
];

export function createBudgetStore(): BudgetStore {
  return { budgets: new Map(SEED_BUDGETS.map((budget) => [budget.id, { ...budget, scope: { ...budget.scope } }])) };
}

export interface BudgetsServerOptions extends DemoServerOptions {
  /** Share one store across the servers of a stateless HTTP endpoint; a fresh one is made if omitted. */
  store?: BudgetStore;
}

const budgetIdSchema = z.string().min(1).max(100).describe("Budget id as returned by list_budgets, e.g. bgt-platform-monthly");

function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

function describeBudget(budget: Budget) {
  return {
    id: budget.id,
    name: budget.name,
    period: "monthly",
    currency: "USD",
    limit_usd: centsToUsd(budget.limitCents),
    scope: { team: budget.scope.team ?? null, account_id: budget.scope.accountId ?? null, service: budget.scope.service ?? null },
  };
}

function notFound(budgetId: string) {
  return errorResult(`Budget "${budgetId}" not found. Use list_budgets to see budget ids.`);
}

export function createBudgetsServer(options: BudgetsServerOptions = {}): McpServer {
  const descriptions = resolveDescriptions(BUDGETS_TOOL_DESCRIPTIONS, options.descriptionOverrides);
  const store = options.store ?? createBudgetStore();
  const server = new McpServer(
    { name: "budgets", title: "Budgets", version: DEMO_SERVER_VERSION },
    { instructions: "Monthly cost budgets. Creating and changing budgets moves financial limits; confirm amounts before calling." },
  );

  server.registerTool(
    "list_budgets",
    { title: "List budgets", description: descriptions.list_budgets, annotations: { readOnlyHint: true, openWorldHint: false } },
    () => jsonResult({ budgets: [...store.budgets.values()].map(describeBudget) }),
  );

  server.registerTool(
    "get_budget_status",
    {
      title: "Budget status",
      description: descriptions.get_budget_status,
      inputSchema: z.object({
        budget_id: budgetIdSchema,
        month: monthSchema.default(BILLING_CURRENT_MONTH).describe(`Month in the form YYYY-MM; defaults to the current month (${BILLING_CURRENT_MONTH})`),
      }),
      outputSchema: z.object({
        budget: z.object({ id: z.string(), name: z.string(), limit_usd: z.number() }).loose(),
        month: z.string(),
        spend_usd: z.number(),
        forecast_usd: z.number(),
        used_pct: z.number(),
        forecast_used_pct: z.number(),
        status: z.enum(["on_track", "at_risk", "over_budget"]),
      }),
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    ({ budget_id: budgetId, month }) => {
      const budget = store.budgets.get(budgetId);
      if (!budget) return notFound(budgetId);
      const forecast = forecastMonthEnd(month, budget.scope);
      if (!forecast) return errorResult(noDataForMonthMessage(month) ?? `No billing data for ${month}.`);
      const status =
        forecast.monthToDateCents > budget.limitCents ? "over_budget" : forecast.forecastCents > budget.limitCents ? "at_risk" : "on_track";
      return jsonResult({
        budget: describeBudget(budget),
        month,
        as_of: forecast.asOf,
        spend_usd: centsToUsd(forecast.monthToDateCents),
        forecast_usd: centsToUsd(forecast.forecastCents),
        used_pct: percentOf(forecast.monthToDateCents, budget.limitCents),
        forecast_used_pct: percentOf(forecast.forecastCents, budget.limitCents),
        status,
      });
    },
  );

  server.registerTool(
    "create_budget",
    {
      title: "Create budget",
      description: descriptions.create_budget,
      inputSchema: z.object({
        name: z
          .string()
          .trim()
          .min(1)
          .max(80)
          .regex(/^[\p{L}\p{N} _.-]+$/u, { error: "may contain letters, digits, spaces and _ . - only" }),
        limit_usd: usdAmountSchema.describe("Monthly limit in USD, e.g. 12500.00"),
        team: z.enum(BILLING_TEAMS).optional(),
        account_id: z.enum(BILLING_ACCOUNT_IDS).optional(),
        service: z.enum(BILLING_SERVICES).optional(),
      }),
      // Not idempotent: a retried create must not silently succeed twice, so a second one is refused.
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    ({ name, limit_usd: limitUsd, team, account_id: accountId, service }) => {
      const id = `bgt-${slugify(name)}`;
      if (id === "bgt-") return errorResult("name must contain at least one letter or digit");
      if (store.budgets.has(id)) return errorResult(`A budget with id "${id}" already exists; use update_budget_limit to change it.`);
      if (store.budgets.size >= MAX_BUDGETS) return errorResult(`At most ${MAX_BUDGETS} budgets are allowed; delete one first.`);
      const budget: Budget = { id, name, limitCents: usdToCents(limitUsd), scope: { team, accountId, service } };
      store.budgets.set(id, budget);
      return jsonResult({ created: true, budget: describeBudget(budget) });
    },
  );

  server.registerTool(
    "update_budget_limit",
    {
      title: "Update budget limit",
      description: descriptions.update_budget_limit,
      inputSchema: z.object({ budget_id: budgetIdSchema, limit_usd: usdAmountSchema.describe("New monthly limit in USD") }),
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    },
    ({ budget_id: budgetId, limit_usd: limitUsd }) => {
      const budget = store.budgets.get(budgetId);
      if (!budget) return notFound(budgetId);
      const previousCents = budget.limitCents;
      budget.limitCents = usdToCents(limitUsd);
      return jsonResult({ changed: previousCents !== budget.limitCents, previous_limit_usd: centsToUsd(previousCents), budget: describeBudget(budget) });
    },
  );

  server.registerTool(
    "delete_budget",
    {
      title: "Delete budget",
      description: descriptions.delete_budget,
      inputSchema: z.object({ budget_id: budgetIdSchema }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
    },
    ({ budget_id: budgetId }) => {
      const budget = store.budgets.get(budgetId);
      if (!budget) return notFound(budgetId);
      store.budgets.delete(budgetId);
      return jsonResult({ deleted: true, budget: describeBudget(budget) });
    },
  );

  return server;
}
