import { describe, expect, it } from "vitest";
import { builtinDetector, type BuiltinDetector } from "./detectors";
import { createScanner } from "./scan";

const found = (id: BuiltinDetector, text: string) => builtinDetector(id).find(text).map((m) => text.slice(m.start, m.end));

// Real-looking positives (test numbers published by the networks and cloud vendors' documentation
// examples) and near misses that must not match.
const table: Array<{ detector: BuiltinDetector; positives: string[]; negatives: string[] }> = [
  {
    detector: "card",
    positives: ["4111 1111 1111 1111", "5555-5555-5555-4444", "378282246310005", "6011111111111117", "card 4012888888881881 exp 12/29"],
    negatives: ["4111 1111 1111 1112", "1234567890123456", "order 2026-11-30-0001", "+33 6 12 34 56 78", "41111111111111111111111"],
  },
  {
    detector: "iban",
    positives: ["DE89370400440532013000", "GB29 NWBK 6016 1331 9268 19", "FR1420041010050500013M02606"],
    negatives: ["DE89370400440532013001", "GB29NWBK601613319268", "XX00 not an iban at all"],
  },
  { detector: "aws_access_key", positives: ["AKIAIOSFODNN7EXAMPLE", "id=ASIAY34FZKBOKMUTVV7A"], negatives: ["AKIAIOSFODNN7EXAMPL", "AKIA-IOSFODNN7EXAMPLE", "XKIAIOSFODNN7EXAMPLE"] },
  {
    detector: "aws_secret_key",
    positives: ['aws_secret_access_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"', "SECRET: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"],
    negatives: ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY alone", "aws_secret = short"],
  },
  { detector: "gcp_key", positives: ["AIzaSyA1234567890abcdefghijklmnopqrstuv"], negatives: ["AIzaSyA1234567890abcdef", "AIza is a prefix"] },
  {
    detector: "azure_key",
    positives: [`DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${"A".repeat(86)}==;`, "client secret: abc8Q~abcdefghijklmnopqrstuvwxyz012345"],
    negatives: ["AccountKey=tooShort==", "abc8Q~short"],
  },
  {
    detector: "private_key",
    positives: ["-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----", "-----BEGIN RSA PRIVATE KEY-----\nMIIE"],
    negatives: ["-----BEGIN PUBLIC KEY-----\nMIIBIjAN\n-----END PUBLIC KEY-----", "BEGIN PRIVATE KEY"],
  },
  { detector: "bearer_token", positives: ["Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345"], negatives: ["Bearer short", "bearer of bad news"] },
  {
    detector: "jwt",
    positives: ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"],
    negatives: ["eyJhbGciOiJIUzI1NiJ9.notjwt.x", "eyJ.eyJ.sig"],
  },
  { detector: "email", positives: ["alice@example.com", "contact: bob.smith+finops@corp.example.co.uk"], negatives: ["alice@localhost", "@example.com", "not an email"] },
  { detector: "us_ssn", positives: ["123-45-6789", "ssn 078-05-1121."], negatives: ["000-12-3456", "666-12-3456", "123-00-6789", "123-45-0000", "1234-56-7890", "123456789"] },
];

describe("built-in DLP detectors", () => {
  for (const { detector, positives, negatives } of table) {
    for (const text of positives) it(`${detector} finds ${JSON.stringify(text.slice(0, 40))}`, () => expect(found(detector, text)).toHaveLength(1));
    for (const text of negatives) it(`${detector} ignores ${JSON.stringify(text.slice(0, 40))}`, () => expect(found(detector, text)).toEqual([]));
  }
});

describe("the DLP scan of a payload", () => {
  const payload = { month: "2026-11", note: "pay with 4111 1111 1111 1111 please", contacts: ["alice@example.com"], amount: 5000 };

  it("redacts by default, counting each detector per field, and leaves everything else as it was", () => {
    const result = createScanner().scan(payload, "arguments");
    expect(result.value).toEqual({ month: "2026-11", note: "pay with [REDACTED:card] please", contacts: ["[REDACTED:email]"], amount: 5000 });
    expect(result.findings).toEqual([
      { detector: "card", field: "arguments", count: 1 },
      { detector: "email", field: "arguments", count: 1 },
    ]);
    expect(result.blockedBy).toBeNull();
  });

  it("flags without redacting, and blocks naming the detector", () => {
    expect(createScanner({ dlp: { actions: { card: "flag", email: "flag" }, capture: "full" } }).scan(payload, "arguments").value).toEqual(payload);
    expect(createScanner({ dlp: { actions: { card: "block" }, capture: "full" } }).scan(payload, "arguments").blockedBy).toBe("card");
  });

  it("returns the same value when nothing matched", () => {
    const clean = { month: "2026-11" };
    expect(createScanner().scan(clean, "arguments").value).toBe(clean);
  });

  it("runs admin patterns under RE2: an evil pattern on a hostile input finishes at once", () => {
    const scanner = createScanner({ patterns: [{ id: "evil", name: "Evil", regex: "(a+)+$" }, { id: "project", name: "Project code", regex: "PRJ-[0-9]{4}" }] });
    const hostile = `${"a".repeat(30_000)}!`;
    const started = performance.now();
    const result = scanner.scan({ text: hostile, code: "see PRJ-1234" }, "arguments");
    // A backtracking engine needs longer than the universe's age here; RE2 a few milliseconds.
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(result.findings).toEqual([{ detector: "project", field: "arguments", count: 1 }]);
    expect(() => createScanner({ patterns: [{ id: "bad", name: "Backref", regex: "(a)\\1" }] })).toThrow(/not a valid RE2 expression/);
  });
});

describe("the scan's copy on write", () => {
  it("copies only the branches that hold a redaction, and never changes what the caller holds", () => {
    const clean = { month: "2026-10", services: ["ec2", "s3"] };
    const payload = { clean, rows: [{ note: "mail ops@example.com" }, { note: "none" }], tail: "x" };
    const before = structuredClone(payload);
    const { value } = createScanner().scan(payload, "result") as { value: typeof payload };
    expect(payload).toEqual(before);
    expect(value.rows[0]!.note).toBe("mail [REDACTED:email]");
    expect(value).not.toBe(payload);
    expect(value.clean).toBe(clean);
    expect(value.rows[1]).toBe(payload.rows[1]);
    expect(Object.keys(value)).toEqual(["clean", "rows", "tail"]);
  });
});
