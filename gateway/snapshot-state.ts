import type { ConfigSnapshot, SnapshotCatalogSetting } from "@/lib/config/snapshot";
import { verifySnapshot } from "@/lib/config/signing";

import type { SnapshotKeyResolver } from "./config-store";
import type { NormalizedConfig } from "./portal-index";
import type { CatalogSettings } from "./upstreams";

/** Signature (EdDSA, typ, kid) and schema, by the control plane's own verifier. */
export function verifySignedConfig(jws: string, getKey: SnapshotKeyResolver): Promise<ConfigSnapshot> {
  return verifySnapshot(jws, (header) => getKey(header));
}

export const snapshotVersion = (snapshot: ConfigSnapshot) => snapshot.version;

/** The snapshot as the index wants it. Servers are per portal in the snapshot and stay so. */
export function normalizeSnapshot(snapshot: ConfigSnapshot): NormalizedConfig {
  return {
    version: snapshot.version,
    revocations: snapshot.revocations,
    revocationsAsOf: Date.parse(snapshot.createdAt),
    dlpPatterns: snapshot.dlpPatterns,
    elevatedGrants: snapshot.elevatedGrants,
    portals: snapshot.portals.map((portal) => ({
      slug: portal.slug,
      dlp: portal.dlp,
      ...(portal.dropServerPrefix ? { dropServerPrefix: true } : {}),
      servers: portal.servers.map((s) => ({
        slug: s.slug,
        url: s.url,
        transport: s.transport,
        credential: s.credential,
        ...(s.serverRequests ? { serverRequests: s.serverRequests } : {}),
        ...(s.prompts?.length || s.resources?.length ? { catalog: catalogSettings(s.prompts ?? [], s.resources ?? []) } : {}),
      })),
      quarantined: portal.servers.flatMap((s) => s.quarantined ?? []),
      tools: portal.servers.flatMap((s) =>
        s.tools.map((t) => ({
          serverSlug: s.slug,
          name: t.name,
          exposedName: t.exposedName,
          definition: {
            ...(t.title ? { title: t.title } : {}),
            description: t.description,
            inputSchema: t.inputSchema as { type: "object"; [key: string]: unknown },
            ...(t.outputSchema ? { outputSchema: t.outputSchema as { type: "object"; [key: string]: unknown } } : {}),
            ...(t.annotations ? { annotations: t.annotations } : {}),
          },
          riskClass: t.riskClass,
          definitionHash: t.definitionHash,
        })),
      ),
    })),
  };
}

function catalogSettings(prompts: SnapshotCatalogSetting[], resources: SnapshotCatalogSetting[]): CatalogSettings {
  const index = (items: SnapshotCatalogSetting[]) => new Map(items.map(({ key, ...setting }) => [key, setting]));
  return { prompts: index(prompts), resources: index(resources), stamp: JSON.stringify([prompts, resources]) };
}
