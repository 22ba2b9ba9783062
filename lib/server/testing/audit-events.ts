import { randomUUID } from "node:crypto";

/**
 * An `mcp.request` event as a gateway delivers it to ingest: alice's allowed call of
 * budgets/get_budget on the finops portal, now, from 10.1.2.3. `extra` overrides any field.
 */
export const mcpRequestEvent = (extra: Record<string, unknown> = {}) => ({
  id: randomUUID(),
  time: new Date().toISOString(),
  kind: "mcp.request",
  actorType: "user",
  actorId: "user-alice",
  actorLabel: "alice@example.com",
  action: "tools/call",
  outcome: "allow",
  portal: "finops",
  server: "budgets",
  tool: "get_budget",
  data: { httpStatus: 200, latencyMs: 3 },
  sourceIp: "10.1.2.3",
  requestId: randomUUID(),
  ...extra,
});
