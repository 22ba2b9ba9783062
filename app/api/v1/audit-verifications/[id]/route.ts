import { apiRoute } from "@/lib/server/http";
import { getVerificationJob } from "@/lib/server/audit-verification-jobs";

export const GET = apiRoute<{ id: string }>(({ db, actor, params }) => getVerificationJob(db, actor, params.id));
