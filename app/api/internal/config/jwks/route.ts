import { NextResponse } from "next/server";
import { getDb } from "@/lib/server/db/instance";
import { publicJwks } from "@/lib/server/signing-keys";

/**
 * The public keys config snapshots are signed with. Public on purpose: they only let a gateway
 * check a signature, and a gateway must be able to check one before it trusts anything else.
 */
export async function GET(): Promise<Response> {
  const jwks = await publicJwks(await getDb());
  return NextResponse.json(jwks, { headers: { "cache-control": "public, max-age=300" } });
}
