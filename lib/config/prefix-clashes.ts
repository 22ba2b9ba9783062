/**
 * Where dropping the `<server>_` prefix from a portal's prompts would make two servers' names one:
 * the same prompt name offered by two servers of the portal (both then keep the prefix, as the
 * gateway does), and the same resource URI (resources keep their URIs; the first server by slug
 * answers for it). Pure: the portal form shows it, from what the registry last synced.
 */

export type PrefixClash = { kind: "prompt" | "resource"; name: string; servers: string[] };

type SyncedServer = { slug: string; prompts: unknown; resources: unknown };

function namesOf(list: unknown, key: "name" | "uri"): string[] {
  if (!Array.isArray(list)) return [];
  return list.map((item) => (item && typeof item === "object" ? (item as Record<string, unknown>)[key] : undefined)).filter((v): v is string => typeof v === "string");
}

export function prefixClashes(servers: readonly SyncedServer[]): PrefixClash[] {
  const out: PrefixClash[] = [];
  for (const [kind, field, key] of [
    ["prompt", "prompts", "name"],
    ["resource", "resources", "uri"],
  ] as const) {
    const owners = new Map<string, string[]>();
    for (const server of [...servers].sort((a, b) => a.slug.localeCompare(b.slug))) {
      for (const name of new Set(namesOf(server[field], key))) owners.set(name, [...(owners.get(name) ?? []), server.slug]);
    }
    for (const [name, slugs] of owners) if (slugs.length > 1) out.push({ kind, name, servers: slugs });
  }
  return out.sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
}
