import { NextResponse } from "next/server";
import { getDb } from "@/lib/server/db/instance";
import { describeError, log } from "@/lib/server/log";

export const dynamic = "force-dynamic";

/** Readiness for a load balancer: the database answers. Says nothing more to an unauthenticated caller. */
export async function GET() {
  try {
    const db = await getDb();
    await Promise.race([db.$queryRaw`SELECT 1`, new Promise((_, reject) => setTimeout(() => reject(new Error("database timed out")), 5_000).unref())]);
    return NextResponse.json({ status: "ready" }, { headers: { "cache-control": "no-store" } });
  } catch (error) {
    log("warn", "readiness check failed: the database did not answer", describeError(error));
    return NextResponse.json({ status: "unavailable" }, { status: 503, headers: { "cache-control": "no-store" } });
  }
}
