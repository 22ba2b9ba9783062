import { NextResponse } from "next/server";

export const dynamic = "force-dynamic";

/**
 * Liveness for a supervisor or an orchestrator: the process serves requests. Deliberately no
 * database check: restarting the control plane does not bring a database back (see /api/readyz).
 */
export function GET() {
  return NextResponse.json({ status: "ok" }, { headers: { "cache-control": "no-store" } });
}
