import { NextResponse, type NextRequest } from "next/server";
import { openApiDocument } from "@/lib/api/openapi";

// Public: the API's shape is no secret, and tools fetch it before they have a token.
export function GET(req: NextRequest) {
  return NextResponse.json(openApiDocument(`${req.nextUrl.origin}/api/v1`), { headers: { "cache-control": "public, max-age=300" } });
}
