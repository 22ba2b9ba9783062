import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export type LocalSecrets = { secretKey: string; authSecret: string; demoPassword: string; gatewayToken: string; demoServiceAccountSecret: string };

function fresh(): LocalSecrets {
  return {
    secretKey: randomBytes(32).toString("base64"),
    authSecret: randomBytes(32).toString("base64url"),
    demoPassword: `portico-${randomBytes(9).toString("base64url")}`,
    gatewayToken: randomBytes(32).toString("base64url"),
    demoServiceAccountSecret: randomBytes(32).toString("base64url"),
  };
}

/**
 * Secrets for a local install, made once and kept in the data directory (mode 600) so that
 * restarts can still decrypt stored credentials and keep sessions valid. Secrets added by a
 * later version are filled in without touching the existing ones.
 */
export function loadOrCreateLocalSecrets(dataDir: string): LocalSecrets {
  const file = path.join(dataDir, "secrets.json");
  const existing = fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LocalSecrets>) : {};
  const secrets = { ...fresh(), ...existing };
  if (Object.keys(existing).length !== Object.keys(secrets).length) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}
