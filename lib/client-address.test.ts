import { describe, expect, it } from "vitest";
import { clientAddress, trustedProxies } from "./client-address";

describe("clientAddress", () => {
  const lb = trustedProxies("10.0.0.0/8, 127.0.0.1");
  it.each([
    ["no trusted proxies: the socket's address, whatever the header says", "203.0.113.9", "1.2.3.4", trustedProxies(""), "203.0.113.9"],
    ["a trusted balancer: the address it appended", "10.0.0.2", "198.51.100.7", lb, "198.51.100.7"],
    ["a client's own X-Forwarded-For entry left of the balancer's is not believed", "10.0.0.2", "1.2.3.4, 198.51.100.7", lb, "198.51.100.7"],
    ["two trusted hops: the first untrusted one from the right", "127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.1.1", lb, "198.51.100.7"],
    ["every hop trusted: the leftmost", "127.0.0.1", "10.9.9.9", lb, "10.9.9.9"],
    ["an untrusted socket with a header: the socket", "198.51.100.7", "10.0.0.1", lb, "198.51.100.7"],
    ["IPv4-mapped IPv6 sockets read as IPv4", "::ffff:10.0.0.2", "198.51.100.7", lb, "198.51.100.7"],
    ["a trusted hop that wrote garbage: unknown, not the garbage", "10.0.0.2", "not-an-ip", lb, null],
    ["no header: the socket", "10.0.0.2", undefined, lb, "10.0.0.2"],
  ])("%s", (_name, socket, header, trusted, expected) => {
    expect(clientAddress(socket, header, trusted)).toBe(expected);
  });

  it("refuses a list entry that is not an address or range, naming it", () => {
    expect(() => trustedProxies("10.0.0.0/8, example.com")).toThrow('"example.com" is not an address or CIDR range');
  });

  it("matches IPv6 ranges", () => {
    expect(clientAddress("2001:db8::5", "2001:db8:ffff::1, 198.51.100.7", trustedProxies("2001:db8::/64"))).toBe("198.51.100.7");
  });
});
