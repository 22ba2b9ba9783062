/**
 * Prints PORTICO_GATEWAY_CREDENTIAL_KEY for a gateway on another machine: the key derived from the
 * control plane's secret key that opens sealed upstream credentials, and nothing else. Reads
 * PORTICO_SECRET_KEY, or the local install's `.data/secrets.json`.
 *
 *   npm run gateway:key
 */
import path from "node:path";
import { deriveGatewayCredentialKey } from "../lib/config/sealed-credential";
import { loadOrCreateLocalSecrets } from "./lib/local-secrets";

const dataDir = path.resolve(import.meta.dirname, "..", process.env.PORTICO_DATA_DIR ?? ".data");
const secretKey = process.env.PORTICO_SECRET_KEY ?? loadOrCreateLocalSecrets(dataDir).secretKey;
process.stdout.write(`PORTICO_GATEWAY_CREDENTIAL_KEY=${deriveGatewayCredentialKey(secretKey).toString("base64")}\n`);
