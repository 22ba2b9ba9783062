import type { DashboardRole } from "../lib/auth/permissions";

/** One demo user per persona; they share the demo password. */
export const DEMO_USERS: { email: string; name: string; role: DashboardRole }[] = [
  { email: "admin@portico.local", name: "Fiona Admin", role: "admin" },
  { email: "manager@portico.local", name: "Max Manager", role: "approver" },
  { email: "auditor@portico.local", name: "Audrey Auditor", role: "auditor" },
  { email: "analyst@portico.local", name: "Ana Analyst", role: "viewer" },
];
