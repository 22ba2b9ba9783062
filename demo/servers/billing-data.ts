/**
 * Deterministic billing data behind the demo FinOps servers.
 *
 * The window is fixed rather than relative to "today" so that demos, screenshots and tests see the
 * same numbers on every machine and every day. Money is held in integer cents: summing floats would
 * make "summary total equals the sum of the daily rows" false by a cent now and then.
 */

import { mulberry32 } from "../../lib/prng";

export const BILLING_SERVICES = ["EC2", "S3", "RDS", "Lambda", "BigQuery", "Snowflake"] as const;
export type BillingService = (typeof BILLING_SERVICES)[number];

export const BILLING_TEAMS = ["platform", "checkout", "data", "ml"] as const;
export type BillingTeam = (typeof BILLING_TEAMS)[number];

export type BillingProvider = "aws" | "gcp" | "snowflake";

export interface BillingAccount {
  id: string;
  name: string;
  provider: BillingProvider;
  environment: "production" | "staging";
  ownerTeam: BillingTeam;
}

export const BILLING_ACCOUNTS: readonly BillingAccount[] = [
  { id: "123456789012", name: "aws-production", provider: "aws", environment: "production", ownerTeam: "platform" },
  { id: "210987654321", name: "aws-staging", provider: "aws", environment: "staging", ownerTeam: "platform" },
  { id: "acme-analytics-prod", name: "gcp-analytics", provider: "gcp", environment: "production", ownerTeam: "data" },
  { id: "acme-prod-sf", name: "snowflake-prod", provider: "snowflake", environment: "production", ownerTeam: "data" },
];

export const BILLING_ACCOUNT_IDS = BILLING_ACCOUNTS.map((account) => account.id) as [string, ...string[]];

/** First and last day with cost rows (inclusive). The last month is deliberately partial so that forecasts have something to project. */
export const BILLING_FIRST_DATE = "2025-11-01";
export const BILLING_LAST_DATE = "2026-10-20";
export const BILLING_CURRENT_MONTH = BILLING_LAST_DATE.slice(0, 7);

export interface CostRow {
  date: string;
  accountId: string;
  team: BillingTeam;
  service: BillingService;
  region: string;
  costCents: number;
}

export interface CloudResource {
  id: string;
  name: string;
  accountId: string;
  service: BillingService;
  region: string;
  tags: Record<string, string>;
}

const DAY_MS = 86_400_000;

/** Days since the Unix epoch of a valid `YYYY-MM-DD` date, in UTC. */
export function isoDateToDay(isoDate: string): number {
  return Date.parse(`${isoDate}T00:00:00Z`) / DAY_MS;
}

export function dayToIsoDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

export function daysInMonth(month: string): number {
  const year = Number(month.slice(0, 4));
  const monthIndex = Number(month.slice(5, 7));
  return new Date(Date.UTC(year, monthIndex, 0)).getUTCDate();
}

export function monthFirstDate(month: string): string {
  return `${month}-01`;
}

export function monthLastDate(month: string): string {
  return `${month}-${String(daysInMonth(month)).padStart(2, "0")}`;
}

export function previousMonth(month: string): string {
  const year = Number(month.slice(0, 4));
  const monthIndex = Number(month.slice(5, 7));
  return new Date(Date.UTC(year, monthIndex - 2, 1)).toISOString().slice(0, 7);
}

export function centsToUsd(cents: number): number {
  return Math.round(cents) / 100;
}

/** Share of `part` in `total` as a percentage with one decimal. */
export function percentOf(part: number, total: number): number {
  return total === 0 ? 0 : Math.round((part * 1000) / total) / 10;
}

interface CostStream {
  accountId: string;
  team: BillingTeam;
  service: BillingService;
  region: string;
  baseDailyUsd: number;
  monthlyGrowth: number;
  /** Compute scales down at weekends; storage does not. */
  weekendFactor: number;
  spikes?: { month: string; factor: number }[];
}

// A handful of (account, team, service, region) streams instead of a full cartesian product keeps the
// data set at a few thousand rows while still giving every grouping several distinct values.
const COST_STREAMS: readonly CostStream[] = [
  { accountId: "123456789012", team: "platform", service: "EC2", region: "us-east-1", baseDailyUsd: 420, monthlyGrowth: 0.012, weekendFactor: 0.85 },
  { accountId: "123456789012", team: "checkout", service: "EC2", region: "eu-west-1", baseDailyUsd: 180, monthlyGrowth: 0.02, weekendFactor: 0.9, spikes: [{ month: "2025-11", factor: 1.6 }] },
  { accountId: "123456789012", team: "platform", service: "S3", region: "us-east-1", baseDailyUsd: 95, monthlyGrowth: 0.025, weekendFactor: 1 },
  { accountId: "123456789012", team: "checkout", service: "RDS", region: "eu-west-1", baseDailyUsd: 140, monthlyGrowth: 0.008, weekendFactor: 1 },
  { accountId: "123456789012", team: "checkout", service: "Lambda", region: "eu-west-1", baseDailyUsd: 22, monthlyGrowth: 0.03, weekendFactor: 0.7 },
  { accountId: "210987654321", team: "platform", service: "EC2", region: "us-east-1", baseDailyUsd: 60, monthlyGrowth: 0, weekendFactor: 0.5 },
  { accountId: "210987654321", team: "ml", service: "EC2", region: "us-west-2", baseDailyUsd: 110, monthlyGrowth: 0.04, weekendFactor: 0.6, spikes: [{ month: "2026-03", factor: 2.4 }, { month: "2026-10", factor: 1.5 }] },
  { accountId: "210987654321", team: "data", service: "S3", region: "us-west-2", baseDailyUsd: 18, monthlyGrowth: 0.03, weekendFactor: 1 },
  { accountId: "acme-analytics-prod", team: "data", service: "BigQuery", region: "us-central1", baseDailyUsd: 150, monthlyGrowth: 0.015, weekendFactor: 0.55 },
  { accountId: "acme-prod-sf", team: "data", service: "Snowflake", region: "us-east-1", baseDailyUsd: 210, monthlyGrowth: 0.01, weekendFactor: 0.6, spikes: [{ month: "2026-09", factor: 1.3 }] },
];

const SEED = 20_251_101;

function generateCostRows(): CostRow[] {
  const random = mulberry32(SEED);
  const firstDay = isoDateToDay(BILLING_FIRST_DATE);
  const lastDay = isoDateToDay(BILLING_LAST_DATE);
  const rows: CostRow[] = [];
  for (let day = firstDay; day <= lastDay; day++) {
    const date = dayToIsoDate(day);
    const month = date.slice(0, 7);
    const monthsElapsed = (day - firstDay) / 30.4;
    const weekday = new Date(day * DAY_MS).getUTCDay();
    const isWeekend = weekday === 0 || weekday === 6;
    for (const stream of COST_STREAMS) {
      const spike = stream.spikes?.find((candidate) => candidate.month === month)?.factor ?? 1;
      const noise = 0.92 + random() * 0.16;
      const usd =
        stream.baseDailyUsd *
        (1 + stream.monthlyGrowth * monthsElapsed) *
        (isWeekend ? stream.weekendFactor : 1) *
        spike *
        noise;
      rows.push({
        date,
        accountId: stream.accountId,
        team: stream.team,
        service: stream.service,
        region: stream.region,
        costCents: Math.round(usd * 100),
      });
    }
  }
  return rows;
}

const RESOURCE_NAMES: Record<BillingService, readonly string[]> = {
  EC2: ["api-gateway", "worker", "batch-runner", "bastion", "gpu-trainer", "web"],
  S3: ["logs", "artifacts", "backups", "datalake-raw"],
  RDS: ["orders", "payments", "sessions"],
  Lambda: ["webhook-handler", "image-resizer", "cart-expiry"],
  BigQuery: ["events", "marts", "sandbox"],
  Snowflake: ["transform-wh", "bi-wh", "adhoc-wh"],
};

const COST_CENTERS: Record<BillingTeam, string> = {
  platform: "cc-1001",
  checkout: "cc-2040",
  data: "cc-3100",
  ml: "cc-3300",
};

function resourceId(service: BillingService, name: string, random: () => number): string {
  const hex = () => Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, "0");
  switch (service) {
    case "EC2":
      return `i-0${hex()}${hex()}`;
    case "S3":
      return `s3-acme-${name}`;
    case "RDS":
      return `db-${name}-${hex().slice(0, 4)}`;
    case "Lambda":
      return `fn-${name}`;
    case "BigQuery":
      return `bq-analytics.${name.replace(/-/g, "_")}`;
    case "Snowflake":
      return `sf-${name}`;
  }
}

function generateResources(): CloudResource[] {
  const random = mulberry32(SEED + 1);
  const resources: CloudResource[] = [];
  for (const stream of COST_STREAMS) {
    const account = BILLING_ACCOUNTS.find((candidate) => candidate.id === stream.accountId);
    const environment = account?.environment === "staging" ? "staging" : "prod";
    for (const baseName of RESOURCE_NAMES[stream.service].slice(0, 3)) {
      const name = `${stream.team}-${baseName}${environment === "staging" ? "-stg" : ""}`;
      const id = resourceId(stream.service, name, random);
      if (resources.some((existing) => existing.id === id)) continue;
      const roll = random();
      let tags: Record<string, string>;
      // Roughly a third of the fleet misses a required tag, in the three ways real fleets do:
      // never tagged, tagged without ownership, or owned but not charged back.
      if (roll < 0.14) tags = {};
      else if (roll < 0.24) tags = { env: environment, "cost-center": COST_CENTERS[stream.team] };
      else if (roll < 0.34) tags = { env: environment, team: stream.team };
      else tags = { env: environment, team: stream.team, "cost-center": COST_CENTERS[stream.team] };
      resources.push({ id, name, accountId: stream.accountId, service: stream.service, region: stream.region, tags });
    }
  }
  return resources;
}

let cachedRows: readonly CostRow[] | undefined;
let cachedResources: readonly CloudResource[] | undefined;

/** All cost rows, generated once per process. Callers must not mutate them. */
export function getCostRows(): readonly CostRow[] {
  cachedRows ??= Object.freeze(generateCostRows().map((row) => Object.freeze(row)));
  return cachedRows;
}

/** A fresh, mutable copy of the resource inventory, so each tagging store starts from the same state. */
export function createResourceInventory(): CloudResource[] {
  cachedResources ??= generateResources();
  return cachedResources.map((resource) => ({ ...resource, tags: { ...resource.tags } }));
}

export interface CostFilter {
  /** Inclusive ISO dates. */
  start?: string;
  end?: string;
  service?: BillingService;
  team?: BillingTeam;
  accountId?: string;
}

export function queryCostRows(filter: CostFilter = {}): CostRow[] {
  // ISO dates compare correctly as strings, which avoids parsing 3,500 dates per query.
  return getCostRows().filter(
    (row) =>
      (filter.start === undefined || row.date >= filter.start) &&
      (filter.end === undefined || row.date <= filter.end) &&
      (filter.service === undefined || row.service === filter.service) &&
      (filter.team === undefined || row.team === filter.team) &&
      (filter.accountId === undefined || row.accountId === filter.accountId),
  );
}

export function sumCostCents(rows: readonly CostRow[]): number {
  return rows.reduce((total, row) => total + row.costCents, 0);
}

export function isMonthWithData(month: string): boolean {
  return month >= BILLING_FIRST_DATE.slice(0, 7) && month <= BILLING_CURRENT_MONTH;
}

export interface MonthForecast {
  month: string;
  asOf: string;
  isComplete: boolean;
  daysElapsed: number;
  daysInMonth: number;
  monthToDateCents: number;
  forecastCents: number;
  method: "actual" | "trailing-7-day-run-rate";
}

const RUN_RATE_WINDOW_DAYS = 7;

/**
 * Month-end spend for a month inside the data window. Complete months report their actual spend; the
 * current, partial month extrapolates the trailing week so weekend dips do not skew the projection.
 */
export function forecastMonthEnd(month: string, filter: Omit<CostFilter, "start" | "end"> = {}): MonthForecast | undefined {
  if (!isMonthWithData(month)) return undefined;
  const start = monthFirstDate(month);
  const end = monthLastDate(month) < BILLING_LAST_DATE ? monthLastDate(month) : BILLING_LAST_DATE;
  const monthToDateCents = sumCostCents(queryCostRows({ ...filter, start, end }));
  const totalDays = daysInMonth(month);
  const daysElapsed = isoDateToDay(end) - isoDateToDay(start) + 1;
  if (daysElapsed >= totalDays) {
    return { month, asOf: end, isComplete: true, daysElapsed, daysInMonth: totalDays, monthToDateCents, forecastCents: monthToDateCents, method: "actual" };
  }
  const windowStart = dayToIsoDate(isoDateToDay(end) - RUN_RATE_WINDOW_DAYS + 1);
  const runRateCents = sumCostCents(queryCostRows({ ...filter, start: windowStart, end })) / RUN_RATE_WINDOW_DAYS;
  const forecastCents = Math.round(monthToDateCents + runRateCents * (totalDays - daysElapsed));
  return { month, asOf: end, isComplete: false, daysElapsed, daysInMonth: totalDays, monthToDateCents, forecastCents, method: "trailing-7-day-run-rate" };
}
