import { describe, expect, it } from "vitest";

import { readGatewayEnv } from "./env";

const readEnv = (vars: Record<string, string>) => readGatewayEnv({ NODE_ENV: "test", ...vars });
import { DEFAULT_MAX_BODY_BYTES } from "./http-util";

describe("readGatewayEnv: fleet and body-size settings", () => {
  it("defaults to a 4 MiB body cap, no session route, and pushes to the public URL", () => {
    const env = readEnv({ PORTICO_GATEWAY_URL: "https://mcp.example.com/" });
    expect(DEFAULT_MAX_BODY_BYTES).toBe(4 * 1024 * 1024);
    expect(env).toMatchObject({ maxBodyBytes: DEFAULT_MAX_BODY_BYTES, sessionRoute: undefined, advertiseUrl: undefined, gatewayUrl: "https://mcp.example.com" });
  });

  it("reads the cap, the route tag and the address the control plane pushes to", () => {
    const env = readEnv({ PORTICO_GATEWAY_MAX_BODY_BYTES: "262144", PORTICO_GATEWAY_ROUTE: "g1", PORTICO_GATEWAY_ADVERTISE_URL: "http://10.0.0.11:4000/" });
    expect(env).toMatchObject({ maxBodyBytes: 262_144, sessionRoute: "g1", advertiseUrl: "http://10.0.0.11:4000" });
  });

  it("believes X-Forwarded-For only from the proxies listed", () => {
    expect(readEnv({}).trustedProxies!("127.0.0.1")).toBe(false);
    const trusted = readEnv({ PORTICO_TRUSTED_PROXIES: "10.0.0.0/8" }).trustedProxies!;
    expect([trusted("10.1.2.3"), trusted("192.168.0.1")]).toEqual([true, false]);
  });

  it.each([
    ["PORTICO_GATEWAY_ROUTE", "g1.a"],
    ["PORTICO_GATEWAY_ROUTE", ""],
    ["PORTICO_GATEWAY_MAX_BODY_BYTES", "12"],
    ["PORTICO_GATEWAY_ADVERTISE_URL", "not a url"],
    ["PORTICO_TRUSTED_PROXIES", "10.0.0.0/8, lb.internal"],
  ])("refuses %s=%j, naming the variable", (name, value) => {
    expect(() => readEnv({ [name]: value })).toThrow(name);
  });
});

describe("readGatewayEnv: legacy sessions", () => {
  it("closes detached sessions after 5 minutes, others after 2 hours, and holds at most 10,000", () => {
    expect(readEnv({})).toMatchObject({ sessionIdleMs: 7_200_000, detachedIdleMs: 300_000, maxSessions: 10_000 });
    expect(readEnv({ PORTICO_GATEWAY_SESSION_IDLE_SECONDS: "600", PORTICO_GATEWAY_DETACHED_SESSION_IDLE_SECONDS: "30", PORTICO_GATEWAY_MAX_SESSIONS: "500" })).toMatchObject({ sessionIdleMs: 600_000, detachedIdleMs: 30_000, maxSessions: 500 });
    expect(() => readEnv({ PORTICO_GATEWAY_MAX_SESSIONS: "0" })).toThrow(/PORTICO_GATEWAY_MAX_SESSIONS/);
  });
});
