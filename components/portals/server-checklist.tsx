"use client";

import { useId, useState } from "react";
import Link from "next/link";
import { useQuery } from "@tanstack/react-query";
import { Search } from "lucide-react";

import { api } from "@/lib/api/client";
import { serverKeys } from "@/lib/api/query-keys";
import type { Page } from "@/lib/schemas/common";
import type { ServerView } from "@/lib/schemas/server";
import { cn } from "@/lib/utils";
import { Checkbox } from "@/components/ui/checkbox";
import { Input } from "@/components/ui/input";
import { RetryAlert } from "@/components/ui/retry-alert";
import { SkeletonRows } from "@/components/ui/skeleton";
import { ServerStatusBadge } from "@/components/portals/portal-badges";

export type ChecklistServer = { id: string; name: string; slug: string; status: string };

const SERVER_LIST_PARAMS = { limit: 100 };
// Past this many servers a filter box helps more than it clutters.
const FILTER_THRESHOLD = 8;

type ServerChecklistProps = {
  selected: readonly string[];
  onChange: (selected: string[]) => void;
  /** Servers that must be listed even if they are not in the first page (those already in the portal). */
  alwaysInclude?: readonly ChecklistServer[];
  legend?: string;
  error?: string | null;
  disabled?: boolean;
};

/** The registry's servers as checkboxes, for choosing what a portal fronts. */
export function ServerChecklist({ selected, onChange, alwaysInclude = [], legend = "Servers", error, disabled }: ServerChecklistProps) {
  const baseId = useId();
  const [filter, setFilter] = useState("");
  const query = useQuery({
    queryKey: serverKeys.list(SERVER_LIST_PARAMS),
    queryFn: () => api<Page<ServerView>>("GET", "/servers?limit=100"),
  });

  const fetched: ChecklistServer[] = query.data?.items ?? [];
  const known = new Set(fetched.map((s) => s.id));
  const servers = [...fetched, ...alwaysInclude.filter((s) => !known.has(s.id))];
  const needle = filter.trim().toLowerCase();
  const shown = needle ? servers.filter((s) => s.name.toLowerCase().includes(needle) || s.slug.includes(needle)) : servers;
  const selectedSet = new Set(selected);

  const toggle = (id: string, isChecked: boolean) => {
    onChange(isChecked ? [...selected.filter((s) => s !== id), id] : selected.filter((s) => s !== id));
  };

  return (
    <fieldset className="grid gap-2" aria-describedby={error ? `${baseId}-error` : undefined} disabled={disabled}>
      <legend className="mb-2 flex w-full items-center justify-between text-sm font-medium">
        <span>{legend}</span>
        {servers.length > 0 ? (
          <span className="text-xs font-normal text-muted-foreground">
            {selected.length} of {servers.length} selected
          </span>
        ) : null}
      </legend>

      {query.isPending && alwaysInclude.length === 0 ? (
        <SkeletonRows count={3} />
      ) : query.isError ? (
        <RetryAlert title="Could not load the servers" onRetry={() => void query.refetch()}>
          {query.error.message}
        </RetryAlert>
      ) : servers.length === 0 ? (
        <p className="rounded-md border border-dashed px-3 py-4 text-center text-sm text-muted-foreground">
          No servers registered yet.{" "}
          <Link href="/servers" className="font-medium text-primary underline-offset-4 hover:underline">
            Add a server
          </Link>{" "}
          first, then include it here.
        </p>
      ) : (
        <>
          {servers.length > FILTER_THRESHOLD ? (
            <div className="relative">
              <Search aria-hidden className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground" />
              <Input
                type="search"
                aria-label="Filter servers"
                placeholder="Filter servers…"
                value={filter}
                onChange={(event) => setFilter(event.target.value)}
                className="pl-8"
              />
            </div>
          ) : null}
          <ul className="grid max-h-64 gap-0.5 overflow-y-auto rounded-md border p-1">
            {shown.map((server) => {
              const id = `${baseId}-${server.id}`;
              return (
                <li
                  key={server.id}
                  className={cn("flex items-center gap-3 rounded-sm px-2 py-1.5 hover:bg-muted/60", selectedSet.has(server.id) && "bg-muted/40")}
                >
                  <Checkbox
                    id={id}
                    checked={selectedSet.has(server.id)}
                    onChange={(event) => toggle(server.id, event.target.checked)}
                    aria-describedby={`${id}-meta`}
                  />
                  <label htmlFor={id} className="min-w-0 flex-1 cursor-pointer truncate text-sm font-medium">
                    {server.name}
                  </label>
                  <span id={`${id}-meta`} className="flex shrink-0 items-center gap-2">
                    <span className="font-mono text-xs text-muted-foreground">{server.slug}</span>
                    <ServerStatusBadge status={server.status} />
                  </span>
                </li>
              );
            })}
            {shown.length === 0 ? <li className="px-2 py-3 text-center text-sm text-muted-foreground">No server matches “{filter}”.</li> : null}
          </ul>
          {query.data?.nextCursor ? (
            <p className="text-xs text-muted-foreground">Only the first 100 servers of the registry are listed here.</p>
          ) : null}
        </>
      )}
      <p id={`${baseId}-error`} aria-live="polite" className={cn("text-[0.8125rem] font-medium text-destructive-strong", !error && "hidden")}>
        {error}
      </p>
    </fieldset>
  );
}
