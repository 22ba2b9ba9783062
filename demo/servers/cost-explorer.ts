import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

import {
  BILLING_ACCOUNTS,
  BILLING_CURRENT_MONTH,
  BILLING_FIRST_DATE,
  BILLING_LAST_DATE,
  BILLING_SERVICES,
  centsToUsd,
  type CostRow,
  forecastMonthEnd,
  isoDateToDay,
  monthFirstDate,
  monthLastDate,
  percentOf,
  previousMonth,
  queryCostRows,
  sumCostCents,
} from "./billing-data";
import {
  DEMO_SERVER_VERSION,
  type DemoServerOptions,
  errorResult,
  isoDateSchema,
  jsonResult,
  monthSchema,
  noDataForMonthMessage,
  resolveDescriptions,
} from "./tool-helpers";

export const COST_EXPLORER_TOOL_DESCRIPTIONS = {
  get_cost_summary:
    "Total cloud spend between two dates (inclusive, UTC), broken down by service, team, account or region. Ranges may span at most 366 days.",
  get_daily_costs: "Spend per day between two dates (inclusive, UTC), optionally for one service only. Ranges may span at most 366 days.",
  top_services: "The services with the highest spend in a month, with each one's share and change against the previous month.",
  forecast_month_end: "Projected month-end spend for a month: actual spend for complete months, a trailing 7-day run rate for the current one.",
  list_accounts: "The cloud and data-platform accounts whose billing data this server holds.",
} as const;

export type CostExplorerToolName = keyof typeof COST_EXPLORER_TOOL_DESCRIPTIONS;

/** Wider ranges are what the portal's look-back policy is meant to gate; the server refuses them outright. */
export const MAX_RANGE_DAYS = 366;

const GROUP_BY_VALUES = ["service", "team", "account", "region"] as const;
type GroupBy = (typeof GROUP_BY_VALUES)[number];

const READ_ONLY = { readOnlyHint: true, openWorldHint: false } as const;

function checkDateRange(value: { start: string; end: string }, ctx: z.RefinementCtx) {
  if (value.end < value.start) {
    ctx.addIssue({ code: "custom", message: `end (${value.end}) must be on or after start (${value.start})`, path: ["end"] });
    return;
  }
  const days = isoDateToDay(value.end) - isoDateToDay(value.start) + 1;
  if (days > MAX_RANGE_DAYS) {
    ctx.addIssue({ code: "custom", message: `range spans ${days} days; at most ${MAX_RANGE_DAYS} are allowed`, path: ["end"] });
  }
}

const startSchema = isoDateSchema.describe("First day of the range, YYYY-MM-DD (inclusive)");
const endSchema = isoDateSchema.describe("Last day of the range, YYYY-MM-DD (inclusive)");

const costSummaryInput = z
  .object({
    start: startSchema,
    end: endSchema,
    group_by: z.enum(GROUP_BY_VALUES).default("service").describe("Dimension to break the total down by"),
  })
  .superRefine(checkDateRange);

const dailyCostsInput = z
  .object({
    start: startSchema,
    end: endSchema,
    service: z.enum(BILLING_SERVICES).optional().describe("Only count this service"),
  })
  .superRefine(checkDateRange);

const topServicesInput = z.object({
  month: monthSchema,
  limit: z.number().int().min(1).max(BILLING_SERVICES.length).default(5).describe("How many services to return"),
});

const costSummaryOutput = z.object({
  start: z.string(),
  end: z.string(),
  group_by: z.enum(GROUP_BY_VALUES),
  currency: z.literal("USD"),
  total_usd: z.number(),
  groups: z.array(z.object({ key: z.string(), cost_usd: z.number(), share_pct: z.number() })),
});

function outsideDataMessage(start: string, end: string): string | undefined {
  return end < BILLING_FIRST_DATE || start > BILLING_LAST_DATE
    ? `No billing data between ${start} and ${end}; data covers ${BILLING_FIRST_DATE} to ${BILLING_LAST_DATE}.`
    : undefined;
}

function groupKey(row: CostRow, groupBy: GroupBy): string {
  switch (groupBy) {
    case "service":
      return row.service;
    case "team":
      return row.team;
    case "account":
      return BILLING_ACCOUNTS.find((account) => account.id === row.accountId)?.name ?? row.accountId;
    case "region":
      return row.region;
  }
}

function sumBy<Key extends string>(rows: readonly CostRow[], key: (row: CostRow) => Key): Map<Key, number> {
  const totals = new Map<Key, number>();
  for (const row of rows) totals.set(key(row), (totals.get(key(row)) ?? 0) + row.costCents);
  return totals;
}

function monthRows(month: string): CostRow[] {
  return queryCostRows({ start: monthFirstDate(month), end: monthLastDate(month) });
}

function accountsDocument() {
  return {
    accounts: BILLING_ACCOUNTS.map((account) => ({
      id: account.id,
      name: account.name,
      provider: account.provider,
      environment: account.environment,
      owner_team: account.ownerTeam,
    })),
  };
}

export function createCostExplorerServer(options: DemoServerOptions = {}): McpServer {
  const descriptions = resolveDescriptions(COST_EXPLORER_TOOL_DESCRIPTIONS, options.descriptionOverrides);
  const server = new McpServer(
    { name: "cost-explorer", title: "Cost Explorer", version: DEMO_SERVER_VERSION },
    { instructions: `Read-only cloud cost data from ${BILLING_FIRST_DATE} to ${BILLING_LAST_DATE}. Amounts are USD.` },
  );

  server.registerTool(
    "get_cost_summary",
    {
      title: "Cost summary",
      description: descriptions.get_cost_summary,
      inputSchema: costSummaryInput,
      outputSchema: costSummaryOutput,
      annotations: READ_ONLY,
    },
    ({ start, end, group_by: groupBy }) => {
      const outside = outsideDataMessage(start, end);
      if (outside) return errorResult(outside);
      const rows = queryCostRows({ start, end });
      const totalCents = sumCostCents(rows);
      const groups = [...sumBy(rows, (row) => groupKey(row, groupBy))]
        .sort(([, a], [, b]) => b - a)
        .map(([key, cents]) => ({ key, cost_usd: centsToUsd(cents), share_pct: percentOf(cents, totalCents) }));
      return jsonResult({ start, end, group_by: groupBy, currency: "USD", total_usd: centsToUsd(totalCents), groups });
    },
  );

  server.registerTool(
    "get_daily_costs",
    { title: "Daily costs", description: descriptions.get_daily_costs, inputSchema: dailyCostsInput, annotations: READ_ONLY },
    ({ start, end, service }) => {
      const outside = outsideDataMessage(start, end);
      if (outside) return errorResult(outside);
      const rows = queryCostRows({ start, end, service });
      const days = [...sumBy(rows, (row) => row.date)]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([date, cents]) => ({ date, cost_usd: centsToUsd(cents) }));
      return jsonResult({ start, end, service: service ?? null, currency: "USD", total_usd: centsToUsd(sumCostCents(rows)), days });
    },
  );

  server.registerTool(
    "top_services",
    { title: "Top services", description: descriptions.top_services, inputSchema: topServicesInput, annotations: READ_ONLY },
    ({ month, limit }) => {
      const noData = noDataForMonthMessage(month);
      if (noData) return errorResult(noData);
      const rows = monthRows(month);
      const totalCents = sumCostCents(rows);
      const previous = previousMonth(month);
      // A month before the data window has no rows; reporting "+∞%" would be noise, so the change is null.
      const previousTotals = noDataForMonthMessage(previous) ? undefined : sumBy(monthRows(previous), (row) => row.service);
      const services = [...sumBy(rows, (row) => row.service)]
        .sort(([, a], [, b]) => b - a)
        .slice(0, limit)
        .map(([service, cents]) => {
          const before = previousTotals?.get(service);
          return {
            service,
            cost_usd: centsToUsd(cents),
            share_pct: percentOf(cents, totalCents),
            change_pct_vs_previous_month: before ? percentOf(cents - before, before) : null,
          };
        });
      return jsonResult({
        month,
        is_complete: month < BILLING_CURRENT_MONTH,
        currency: "USD",
        total_usd: centsToUsd(totalCents),
        services,
      });
    },
  );

  server.registerTool(
    "forecast_month_end",
    {
      title: "Month-end forecast",
      description: descriptions.forecast_month_end,
      inputSchema: z.object({ month: monthSchema }),
      annotations: READ_ONLY,
    },
    ({ month }) => {
      const forecast = forecastMonthEnd(month);
      if (!forecast) return errorResult(noDataForMonthMessage(month) ?? `No billing data for ${month}.`);
      const previous = forecastMonthEnd(previousMonth(month));
      return jsonResult({
        month,
        as_of: forecast.asOf,
        is_complete: forecast.isComplete,
        method: forecast.method,
        days_elapsed: forecast.daysElapsed,
        days_in_month: forecast.daysInMonth,
        currency: "USD",
        month_to_date_usd: centsToUsd(forecast.monthToDateCents),
        forecast_usd: centsToUsd(forecast.forecastCents),
        previous_month_usd: previous ? centsToUsd(previous.forecastCents) : null,
      });
    },
  );

  server.registerTool(
    "list_accounts",
    { title: "List accounts", description: descriptions.list_accounts, annotations: READ_ONLY },
    () => jsonResult(accountsDocument()),
  );

  server.registerPrompt(
    "monthly_cost_review",
    {
      title: "Monthly cost review",
      description: "Walk through one month's cloud spend: totals, top services, anomalies and the month-end outlook.",
      argsSchema: { month: monthSchema },
    },
    ({ month }) => {
      const noData = noDataForMonthMessage(month);
      if (noData) throw new Error(noData);
      const rows = monthRows(month);
      const topThree = [...sumBy(rows, (row) => row.service)]
        .sort(([, a], [, b]) => b - a)
        .slice(0, 3)
        .map(([service, cents]) => `${service} ($${centsToUsd(cents).toFixed(2)})`)
        .join(", ");
      const text = [
        `Review our cloud costs for ${month}.`,
        `Spend recorded so far: $${centsToUsd(sumCostCents(rows)).toFixed(2)}; largest services: ${topThree}.`,
        "1. Call top_services for this month and explain any service whose spend changed by more than 20% against the previous month.",
        "2. Call get_cost_summary grouped by team for the month and name the team driving the biggest change.",
        "3. Call forecast_month_end and say whether the month will end above the previous one.",
        "Finish with three concrete cost-saving actions, each tied to a number you retrieved.",
      ].join("\n");
      return { description: `Cost review for ${month}`, messages: [{ role: "user", content: { type: "text", text } }] };
    },
  );

  server.registerResource(
    "accounts",
    "billing://accounts",
    { title: "Billing accounts", description: "The accounts covered by this server's billing data", mimeType: "application/json" },
    (uri) => ({ contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(accountsDocument(), null, 2) }] }),
  );

  return server;
}
