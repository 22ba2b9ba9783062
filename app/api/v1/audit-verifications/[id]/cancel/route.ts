import { apiRoute } from "@/lib/server/http";
import { cancelVerificationJob } from "@/lib/server/audit-verification-jobs";

export const POST = apiRoute<{ id: string }>(({ db, actor, params }) => cancelVerificationJob(db, actor, params.id));
