/**
 * Built-in DLP detectors: what payment-card, cloud-credential and personal data look like in the
 * text of MCP arguments and results. Each is a fixed regular expression written without nested
 * unbounded quantifiers (linear on any input), plus a checksum where the format has one, so that a
 * number failing Luhn is not a card and a string failing mod-97 is not an IBAN. Pure: the gateway
 * runs them before an event reaches its spool; the dashboard's test box runs the same code.
 */

export const BUILTIN_DETECTORS = [
  "card",
  "iban",
  "aws_access_key",
  "aws_secret_key",
  "gcp_key",
  "azure_key",
  "private_key",
  "bearer_token",
  "jwt",
  "email",
  "us_ssn",
] as const;
export type BuiltinDetector = (typeof BUILTIN_DETECTORS)[number];

export const DETECTOR_LABELS: Record<BuiltinDetector, string> = {
  card: "payment card number",
  iban: "IBAN",
  aws_access_key: "AWS access key id",
  aws_secret_key: "AWS secret access key",
  gcp_key: "Google Cloud API key",
  azure_key: "Azure key",
  private_key: "private key",
  bearer_token: "bearer token",
  jwt: "JSON Web Token",
  email: "e-mail address",
  us_ssn: "US social security number",
};

export type Match = { start: number; end: number };
export type Detector = { id: string; find: (text: string) => Match[] };

/** Luhn over the digits of `value` (separators already removed). */
export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

// Issuer prefixes of the major networks (Visa, Mastercard, Amex, Discover, JCB, Diners, UnionPay).
const CARD_PREFIX = /^(?:4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|2)|35)/;

/** ISO 13616 mod-97 over an IBAN without spaces. */
export function ibanChecksum(iban: string): boolean {
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const code = ch.charCodeAt(0);
    const value = code >= 65 ? String(code - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + (digit.charCodeAt(0) - 48)) % 97;
  }
  return remainder === 1;
}

/** IBAN lengths by country (the common ones; an unknown country must still pass mod-97 at 15–34). */
const IBAN_LENGTH: Record<string, number> = { DE: 22, FR: 27, GB: 22, ES: 24, IT: 27, NL: 18, BE: 16, CH: 21, AT: 20, IE: 22, PT: 25, PL: 28, SE: 24, DK: 18, NO: 15, FI: 18, LU: 20 };

function regexFinder(pattern: RegExp, accept?: (text: string) => boolean, group = 0): Detector["find"] {
  return (text) => {
    const out: Match[] = [];
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m !== null; m = pattern.exec(text)) {
      const hit = m[group];
      if (hit !== undefined && (!accept || accept(hit))) {
        const start = m.index + (group === 0 ? 0 : m[0].indexOf(hit));
        out.push({ start, end: start + hit.length });
      }
      if (m[0].length === 0) pattern.lastIndex += 1;
    }
    return out;
  };
}

const NONE: Match[] = [];

/**
 * Runs `find` only on text holding one of `literals`, which every match contains: most text an
 * MCP call carries holds none, and `includes` costs a fraction of the regular expression.
 */
function needs(literals: string[], find: Detector["find"]): Detector["find"] {
  return (text) => (literals.some((l) => text.includes(l)) ? find(text) : NONE);
}

const DETECTORS: Record<BuiltinDetector, Detector["find"]> = {
  // 13–19 digits, single spaces or dashes between groups allowed; not part of a longer number.
  card: regexFinder(/(?<![\d-])\d(?:[ -]?\d){12,18}(?![\d-])/g, (hit) => {
    const digits = hit.replace(/[ -]/g, "");
    return digits.length >= 13 && digits.length <= 19 && CARD_PREFIX.test(digits) && luhn(digits);
  }),
  iban: regexFinder(/\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b/g, (hit) => {
    const compact = hit.replace(/ /g, "");
    const expected = IBAN_LENGTH[compact.slice(0, 2)];
    if (expected !== undefined ? compact.length !== expected : compact.length < 15 || compact.length > 34) return false;
    return ibanChecksum(compact);
  }),
  aws_access_key: needs(["AKIA", "ASIA", "ABIA", "ACCA"], regexFinder(/\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b/g)),
  // A 40-character secret is only recognisable by what names it.
  aws_secret_key: regexFinder(/(?:aws|secret)[A-Za-z_. -]{0,24}["']?\s{0,3}[:=]\s{0,3}["']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])/gi, undefined, 1),
  gcp_key: needs(["AIza"], regexFinder(/\bAIza[0-9A-Za-z_-]{35}(?![0-9A-Za-z_-])/g)),
  // Storage account keys (88 base64 characters) and Entra ID client secrets (the "8Q~" marker).
  azure_key: needs(["AccountKey=", "Q~"], (text) => [
    ...regexFinder(/AccountKey=([A-Za-z0-9+/]{86}==)/g, undefined, 1)(text),
    ...regexFinder(/(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])/g)(text),
  ]),
  private_key: needs(["PRIVATE KEY-----"], regexFinder(/-----BEGIN (?:[A-Z0-9]+ )?PRIVATE KEY-----[\s\S]{0,8192}?(?:-----END (?:[A-Z0-9]+ )?PRIVATE KEY-----|$)/g)),
  bearer_token: needs(["Bearer"], regexFinder(/\bBearer[ \t]+([A-Za-z0-9\-._~+/]{20,}=*)/g, undefined, 1)),
  jwt: needs(["eyJ"], regexFinder(/\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/g)),
  email: needs(["@"], regexFinder(/(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}\.[A-Za-z]{2,24}\b/g)),
  us_ssn: needs(["-"], regexFinder(/(?<!\d)(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?!\d)/g)),
};

export function builtinDetector(id: BuiltinDetector): Detector {
  return { id, find: DETECTORS[id] };
}
