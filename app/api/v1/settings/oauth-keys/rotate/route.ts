import { apiRoute } from "@/lib/server/http";
import { rotateSigningKeys } from "@/lib/server/oauth/key-rotation";

export const POST = apiRoute(({ db, actor }) => rotateSigningKeys(db, actor));
