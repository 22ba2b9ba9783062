import { NextResponse } from "next/server";
import { apiRoute, queryOf } from "@/lib/server/http";
import { listVerificationJobs, startVerificationJob } from "@/lib/server/audit-verification-jobs";

export const GET = apiRoute(({ db, actor, req }) => listVerificationJobs(db, actor, queryOf(req)));
/** Starts a verification job (or returns the one running) and answers at once: 202 with the job to poll. */
export const POST = apiRoute(async ({ db, actor }) => NextResponse.json((await startVerificationJob(db, actor)).job, { status: 202 }));
