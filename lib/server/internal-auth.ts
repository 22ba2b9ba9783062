import "server-only";
import { createHash, timingSafeEqual } from "node:crypto";
import { AppError } from "@/lib/errors";
import { env } from "./env";

const BEARER = /^Bearer[ \t]+([^\s]+)[ \t]*$/i;

/**
 * Gateways call /api/internal with the shared gateway token. Without a configured token every
 * call is refused (503) rather than left open. Both sides are hashed before the constant-time
 * comparison, so neither the content nor the length of the token leaks through timing.
 */
export function assertGatewayToken(req: Request): void {
  const expected = env().PORTICO_GATEWAY_TOKEN;
  if (!expected) throw new AppError("unavailable", "Gateway token not configured");
  const presented = BEARER.exec(req.headers.get("authorization") ?? "")?.[1];
  if (!presented || !timingSafeEqual(digest(presented), digest(expected))) {
    throw new AppError("unauthorized", "A valid gateway token is required");
  }
}

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * Reads a gateway's JSON body with its own cap (audit batches are larger than the 1 MiB of
 * `readJson`). The body is counted while it streams, so a client that lies about or omits
 * Content-Length is cut off at the cap instead of being buffered whole.
 */
export async function readInternalJson(req: Request, maxBytes: number): Promise<unknown> {
  const type = req.headers.get("content-type") ?? "";
  if (!type.toLowerCase().startsWith("application/json")) throw new AppError("bad_request", "Send a JSON body with Content-Type: application/json");
  const tooLarge = () => new AppError("bad_request", `The body is larger than ${maxBytes} bytes`);
  const declared = Number(req.headers.get("content-length") ?? 0);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge();
  if (!req.body) throw new AppError("bad_request", "The body is empty");

  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
  } catch {
    throw new AppError("bad_request", "The body is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError("bad_request", "The body is not valid JSON");
  }
}
