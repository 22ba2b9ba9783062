import type { FieldError } from "@/lib/errors";

/** An error answer of /api/v1, as the browser sees it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly fieldErrors: FieldError[] = [],
    readonly requestId?: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** `{ field: message }` for forms, first message per field. */
  fieldMap(): Record<string, string> {
    const map: Record<string, string> = {};
    for (const e of this.fieldErrors) map[e.field] ??= e.message;
    return map;
  }
}

type Method = "GET" | "POST" | "PATCH" | "PUT" | "DELETE";

/** Calls the admin API from the browser with the session cookie. */
export async function api<T>(method: Method, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (res.status === 204) return undefined as T;
  const data = await res.json().catch(() => null);
  if (!res.ok) {
    const p = (data ?? {}) as { title?: string; code?: string; errors?: FieldError[]; requestId?: string };
    throw new ApiError(res.status, p.title ?? `Request failed (${res.status})`, p.code ?? "error", p.errors ?? [], p.requestId);
  }
  return data as T;
}

export function toQuery(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") search.set(k, String(v));
  const s = search.toString();
  return s ? `?${s}` : "";
}
