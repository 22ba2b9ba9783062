import { apiRoute } from "@/lib/server/http";
import { attentionFor } from "@/lib/server/attention";

/** Counts behind the sidebar's badges (pending approvals, open high-severity alerts) for the caller. */
export const GET = apiRoute(async ({ actor }) => attentionFor(actor));
