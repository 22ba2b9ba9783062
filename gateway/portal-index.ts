import { createHash } from "node:crypto";

import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { createScanner, type CaptureMode, type DlpPattern, type PortalDlp, type Scanner } from "@/lib/dlp/scan";

import { createGrantIndex, type GrantIndex, type SnapshotElevatedGrant } from "@/lib/config/elevated-grants";
import { createRevocationIndex, type ParsedRevocationEntry, type RevocationIndex } from "@/lib/config/revocations";
import { isValidExposedName } from "@/lib/config/tool-definition";

import type { TokenIdentity } from "./auth";
import type { UpstreamSpec } from "./upstreams";

/**
 * The running snapshot, indexed for the request path: every lookup a request makes is one Map get.
 * Built once per config version, before it is published.
 */

export type ExposedTool = {
  exposedName: string;
  serverSlug: string;
  upstreamName: string;
  /** What tools/list shows: the pinned definition, renamed, with the portal's description override. */
  definition: Tool;
  riskClass: string;
  /** The accepted definition; an upstream now describing the tool otherwise has drifted. */
  definitionHash: string;
};

export type PortalView = {
  slug: string;
  url: string;
  tools: Map<string, ExposedTool>;
  /** Tools listed in order, so tools/list is stable. */
  toolList: ExposedTool[];
  /** Exposed names of tools the portal does not (or no longer) offer, with why. */
  unavailableTools: Map<string, UnavailableTool>;
  servers: Map<string, UpstreamSpec>;
  /** Changes when the set of servers (hence prompts and resources) changes. */
  serversFingerprint: string;
  /** The portal's DLP scan (built-ins plus admin patterns, its actions) and payload capture mode. */
  dlp?: { scanner: Scanner; capture: CaptureMode };
  /** Prompts under their own names where no two servers offer one by the same name (else `<server>_<name>`). */
  isPromptPrefixDropped: boolean;
};

export type Decision = (
  | { effect: "allow"; reasons: string[] }
  | { effect: "deny"; reasons: string[]; rule: string }
  | { effect: "step_up"; reasons: string[]; requiredScope: string }
) & {
  /** The portal roles that decided (lib/policy's): named on the audit event, for alert rules scoped by role. */
  matchedRoles?: string[];
};

export type CallContext = { now: Date; sourceIp: string | null; arguments?: Record<string, unknown> };

export type GatewayState = {
  version: number;
  portals: Map<string, PortalView>;
  /** What was revoked, by kind and id; the authenticate step checks every token against it. */
  revocations: RevocationIndex;
  /** Active step-up grants, by principal and portal (stages/grants.ts). */
  grants: GrantIndex & { used: Set<string> };
  /** Tools of `portal` this caller may see, in a stable order. */
  visibleTools(portal: PortalView, identity: TokenIdentity, context: CallContext): ExposedTool[];
  /** May this caller call this tool, now, from here? */
  decide(portal: PortalView, tool: ExposedTool, identity: TokenIdentity, context: CallContext): Decision;
  allUpstreams(): UpstreamSpec[];
};

/** The snapshot reduced to what the index needs (see snapshot-state.ts). */
export type NormalizedConfig = {
  version: number;
  revocations?: ParsedRevocationEntry[];
  /** When the control plane built the revocations (epoch ms): entries in force then apply at once. */
  revocationsAsOf?: number;
  /** Admin DLP patterns; each portal compiles them into its scanner once per config. */
  dlpPatterns?: DlpPattern[];
  elevatedGrants?: SnapshotElevatedGrant[];
  portals: Array<{
    slug: string;
    dlp?: PortalDlp;
    dropServerPrefix?: boolean;
    /** Servers switched on in this portal. */
    servers: UpstreamSpec[];
    /** Exposed names of tools the portal would offer but that are quarantined (definition changed upstream, awaiting review). */
    quarantined?: string[];
    /** Tools the portal offers; anything else is not available. */
    tools: Array<{
      serverSlug: string;
      /** The upstream's name for the tool. */
      name: string;
      exposedName: string;
      /** As MCP clients see it: the portal's description override already applied. */
      definition: Omit<Tool, "name">;
      riskClass: string;
      definitionHash: string;
    }>;
  }>;
};

/**
 * Why a name the portal knows is not served. `quarantined` comes from the snapshot (the control
 * plane names such tools); `turned_off` is a tool the previous version offered and this one neither
 * offers nor names as quarantined (switched off, its server switched off, or gone upstream);
 * `ambiguous`, two tools claiming one exposed name.
 */
export type UnavailableTool = "quarantined" | "turned_off" | "ambiguous";

export type PolicyAdapter = {
  decide(portal: PortalView, tool: ExposedTool, identity: TokenIdentity, context: CallContext): Decision;
  visibleTools?(portal: PortalView, identity: TokenIdentity, context: CallContext): ExposedTool[];
};

/**
 * A portal's DLP scan. The control plane compiles admin patterns with the same engine before it
 * saves them; should one still not compile here, the built-ins keep running without it rather
 * than the whole config being refused.
 */
function portalScan(dlp: PortalDlp | undefined, patterns: DlpPattern[]): { scanner: Scanner; capture: CaptureMode } {
  let scanner: Scanner;
  try {
    scanner = createScanner({ dlp, patterns });
  } catch {
    scanner = createScanner({ dlp });
  }
  return { scanner, capture: dlp?.capture ?? "full" };
}

const fingerprint = (value: unknown) => createHash("sha256").update(JSON.stringify(value)).digest("base64url");

/**
 * Indexes a config. `previous` lets a tool that disappeared be refused with a reason rather than
 * as if it never existed: the snapshot carries only what a portal offers.
 */
export function buildGatewayState(config: NormalizedConfig, gatewayUrl: string, policy: PolicyAdapter, previous?: GatewayState | null): GatewayState {
  const portals = new Map<string, PortalView>();
  const upstreams = new Map<string, UpstreamSpec>();

  for (const p of config.portals) {
    const servers = new Map(p.servers.map((s) => [s.slug, s]));
    for (const s of p.servers) upstreams.set(s.slug, s);
    const tools = new Map<string, ExposedTool>();
    const unavailableTools = new Map<string, UnavailableTool>();
    for (const t of p.tools) {
      if (!servers.has(t.serverSlug)) continue;
      // MCP clients refuse (or mangle) other names; the control plane should never send one.
      if (!isValidExposedName(t.exposedName)) continue;
      // Two tools claiming one exposed name: neither is safe to route to.
      if (tools.has(t.exposedName) || unavailableTools.get(t.exposedName) === "ambiguous") {
        tools.delete(t.exposedName);
        unavailableTools.set(t.exposedName, "ambiguous");
        continue;
      }
      tools.set(t.exposedName, {
        exposedName: t.exposedName,
        serverSlug: t.serverSlug,
        upstreamName: t.name,
        definition: { ...t.definition, name: t.exposedName },
        riskClass: t.riskClass,
        definitionHash: t.definitionHash,
      });
    }
    for (const name of p.quarantined ?? []) if (!tools.has(name) && !unavailableTools.has(name)) unavailableTools.set(name, "quarantined");
    const before = previous?.portals.get(p.slug);
    if (before) {
      for (const name of [...before.tools.keys(), ...before.unavailableTools.keys()]) {
        if (!tools.has(name) && !unavailableTools.has(name)) unavailableTools.set(name, "turned_off");
      }
    }
    portals.set(p.slug, {
      slug: p.slug,
      url: `${gatewayUrl}/mcp/${p.slug}`,
      tools,
      toolList: [...tools.values()].sort((a, b) => (a.exposedName < b.exposedName ? -1 : 1)),
      unavailableTools,
      servers,
      dlp: portalScan(p.dlp, config.dlpPatterns ?? []),
      serversFingerprint: fingerprint([[p.dropServerPrefix === true], ...[...servers.values()].map((s) => [s.slug, s.url, s.transport, s.catalog?.stamp ?? ""])]),
      isPromptPrefixDropped: p.dropServerPrefix === true,
    });
  }

  const upstreamList = [...upstreams.values()];
  return {
    version: config.version,
    portals,
    revocations: createRevocationIndex(config.revocations ?? [], config.revocationsAsOf),
    // Per-call grants used under the previous version stay used until the control plane drops them.
    grants: createGrantIndex(config.elevatedGrants ?? [], previous?.grants.used),
    visibleTools: (portal, identity, context) =>
      policy.visibleTools ? policy.visibleTools(portal, identity, context) : portal.toolList.filter((tool) => policy.decide(portal, tool, identity, context).effect !== "deny"),
    decide: (portal, tool, identity, context) => policy.decide(portal, tool, identity, context),
    allUpstreams: () => upstreamList,
  };
}
