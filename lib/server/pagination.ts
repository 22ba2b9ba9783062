import "server-only";
import { AppError } from "@/lib/errors";
import type { Page } from "@/lib/schemas/common";

const encode = (id: string) => Buffer.from(id, "utf8").toString("base64url");

function decode(cursor: string): string {
  const id = Buffer.from(cursor, "base64url").toString("utf8");
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) throw new AppError("bad_request", "Not a valid cursor");
  return id;
}

/** Prisma arguments for one keyset page by id; fetches one extra row to know if there is more. */
export function pageArgs(params: { cursor?: string; limit: number }) {
  return {
    take: params.limit + 1,
    ...(params.cursor ? { cursor: { id: decode(params.cursor) }, skip: 1 } : {}),
  };
}

export function toPage<R extends { id: string }, T>(rows: R[], limit: number, map: (row: R) => T): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items: items.map(map), nextCursor: rows.length > limit && last ? encode(last.id) : null };
}

export const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);
