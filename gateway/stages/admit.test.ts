import { describe, expect, it } from "vitest";

import { state } from "../testing/stage-fixtures";
import { createAdmit } from "./admit";

const admit = createAdmit({ gatewayUrl: "https://gw.example.com", allowedOrigins: ["https://inspector.example.com/"] });

describe("admit", () => {
  it.each([
    ["no Origin (not a browser)", "POST", undefined, "p1", "admitted", undefined],
    ["the gateway's own origin", "POST", "https://gw.example.com", "p1", "admitted", undefined],
    ["a configured origin", "GET", "https://inspector.example.com", "p1", "admitted", undefined],
    ["a loopback origin", "DELETE", "http://localhost:6274", "p1", "admitted", undefined],
    ["another site's page", "POST", "https://evil.example.net", "p1", "refused", 403],
    ["a preflight", "OPTIONS", "http://127.0.0.1:6274", "p1", "preflight", undefined],
    ["PUT", "PUT", undefined, "p1", "refused", 405],
    ["an unknown portal", "POST", undefined, "nope", "refused", 404],
  ])("%s", (_name, method, origin, slug, kind, status) => {
    const result = admit({ method, origin, slug, state });
    expect(result.kind).toBe(kind);
    if (status) expect(result).toMatchObject({ status });
  });

  it("exposes the session and challenge headers to an allowed browser origin", () => {
    const result = admit({ method: "POST", origin: "http://localhost:6274", slug: "p1", state });
    expect(result.headers).toMatchObject({ "access-control-allow-origin": "http://localhost:6274", vary: "Origin" });
    expect(result.headers["access-control-expose-headers"]).toContain("mcp-session-id");
    expect(result.headers["access-control-expose-headers"]).toContain("www-authenticate");
  });

  it("asks to retry while the gateway has no config yet", () => {
    expect(admit({ method: "POST", origin: undefined, slug: "p1", state: null })).toMatchObject({ kind: "refused", status: 503, headers: { "retry-after": "5" } });
  });
});
