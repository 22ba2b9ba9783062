import { apiRoute } from "@/lib/server/http";
import { replayGatewayDeadLetters } from "@/lib/server/gateways";

type Params = { id: string };

export const POST = apiRoute<Params>(({ db, actor, params }) => replayGatewayDeadLetters(db, actor, params.id));
