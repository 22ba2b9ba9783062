"use client";

import { useQuery } from "@tanstack/react-query";

import { api } from "@/lib/api/client";
import { portalKeys } from "@/lib/api/query-keys";
import type { PortalToolView, PortalView } from "@/lib/schemas/portal";

export function usePortal(id: string, initialData?: PortalView) {
  return useQuery({
    queryKey: portalKeys.detail(id),
    queryFn: () => api<PortalView>("GET", `/portals/${id}`),
    initialData,
  });
}

export function usePortalTools(id: string, initialData?: PortalToolView[]) {
  return useQuery({
    queryKey: portalKeys.tools(id),
    queryFn: async () => (await api<{ items: PortalToolView[] }>("GET", `/portals/${id}/tools`)).items,
    initialData,
  });
}

/** Mutation keys, so a settling write can tell whether others of its kind are still in flight. */
export const portalMutationKeys = {
  servers: (id: string) => ["portals", "mutation", "servers", id] as const,
  tool: (id: string) => ["portals", "mutation", "tool", id] as const,
};
