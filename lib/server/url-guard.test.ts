import { describe, expect, it } from "vitest";
import { assertAllowedUpstream, isForbiddenAddress } from "./url-guard";

describe("upstream URL guard", () => {
  it.each([
    ["169.254.169.254", "a cloud metadata address"],
    ["169.254.10.1", "a link-local address"],
    ["fe80::1", "a link-local address"],
    ["::ffff:169.254.169.254", "a cloud metadata address"],
    ["fd00:ec2::254", "a cloud metadata address"],
    ["0.0.0.0", "an unspecified address"],
  ])("refuses %s", (address, why) => {
    expect(isForbiddenAddress(address)).toBe(why);
  });

  it.each(["127.0.0.1", "10.1.2.3", "192.168.1.10", "8.8.8.8", "::1"])("allows %s", (address) => {
    expect(isForbiddenAddress(address)).toBeNull();
  });

  it("refuses metadata URLs unless private targets are allowed", async () => {
    await expect(assertAllowedUpstream("http://169.254.169.254/latest", { allowPrivateTargets: false })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(assertAllowedUpstream("http://metadata.google.internal/", { allowPrivateTargets: false })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(assertAllowedUpstream("http://169.254.169.254/latest", { allowPrivateTargets: true })).resolves.toBeUndefined();
  });

  it("refuses non-http schemes and credentials in the URL", async () => {
    await expect(assertAllowedUpstream("file:///etc/passwd", { allowPrivateTargets: true })).rejects.toMatchObject({ code: "validation_failed" });
    await expect(assertAllowedUpstream("http://user:pw@example.com/", { allowPrivateTargets: true })).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("allows a loopback demo server", async () => {
    await expect(assertAllowedUpstream("http://127.0.0.1:4101/mcp", { allowPrivateTargets: false })).resolves.toBeUndefined();
  });
});
