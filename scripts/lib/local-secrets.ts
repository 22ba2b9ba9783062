import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

export type LocalSecrets = { secretKey: string; authSecret: string; demoPassword: string };

/**
 * Secrets for a local install, made once and kept in the data directory (mode 600) so that
 * restarts can still decrypt stored credentials and keep sessions valid.
 */
export function loadOrCreateLocalSecrets(dataDir: string): LocalSecrets {
  const file = path.join(dataDir, "secrets.json");
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as LocalSecrets;
  fs.mkdirSync(dataDir, { recursive: true });
  const words = randomBytes(9).toString("base64url");
  const secrets: LocalSecrets = {
    secretKey: randomBytes(32).toString("base64"),
    authSecret: randomBytes(32).toString("base64url"),
    demoPassword: `portico-${words}`,
  };
  fs.writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}
