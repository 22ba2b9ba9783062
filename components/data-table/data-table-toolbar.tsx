"use client";

import { Search, X } from "lucide-react";

import { cn } from "@/lib/utils";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Select, type SelectOption } from "@/components/ui/select";
import { Spinner } from "@/components/ui/spinner";
import { useDebouncedParam } from "@/components/data-table/use-debounced-param";
import { useTableSearchParams } from "@/components/data-table/use-table-search-params";

export type DataTableFilter = {
  /** The URL param, e.g. "status"; the API reads the same name. */
  key: string;
  /** Accessible name of the select, e.g. "Status". */
  label: string;
  options: readonly SelectOption[];
  /** The empty option; defaults to "Any <label>", e.g. "Any status". */
  allLabel?: string;
};

type DataTableToolbarProps = {
  /** URL param for the free-text search; set to null to hide the search box. */
  searchKey?: string | null;
  searchPlaceholder?: string;
  filters?: readonly DataTableFilter[];
  debounceMs?: number;
  /** Right-aligned actions, e.g. "Export CSV" or "Add server". */
  children?: React.ReactNode;
  className?: string;
};

export function DataTableToolbar({
  searchKey = "q",
  searchPlaceholder = "Search…",
  filters = [],
  debounceMs = 300,
  children,
  className,
}: DataTableToolbarProps) {
  const { get, setParam, setParams, isPending } = useTableSearchParams();
  const search = useDebouncedParam({ get, setParam }, searchKey, debounceMs);

  const activeKeys = [searchKey, ...filters.map((filter) => filter.key)].filter(
    (key): key is string => key !== null && get(key) !== null,
  );

  const reset = () => {
    search.clear();
    setParams(Object.fromEntries(activeKeys.map((key) => [key, null])));
  };

  return (
    <div className={cn("mb-3 flex flex-col gap-2 sm:flex-row sm:items-center sm:justify-between", className)}>
      <div role="search" className="flex flex-1 flex-wrap items-center gap-2">
        {searchKey ? (
          <div className="relative w-full sm:w-72">
            <Search aria-hidden className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-muted-foreground" />
            <Input
              type="search"
              aria-label={searchPlaceholder.replace(/…$/, "")}
              placeholder={searchPlaceholder}
              value={search.value}
              onChange={(event) => search.onChange(event.target.value)}
              className="pr-8 pl-8 [&::-webkit-search-cancel-button]:hidden"
            />
            {isPending ? <Spinner label="Updating results" className="absolute top-1/2 right-2.5 -translate-y-1/2 text-muted-foreground" /> : null}
          </div>
        ) : null}
        {filters.map((filter) => (
          <Select
            key={filter.key}
            aria-label={filter.label}
            wrapperClassName="w-full sm:w-auto"
            className="sm:min-w-40"
            value={get(filter.key) ?? ""}
            onChange={(event) => setParam(filter.key, event.target.value || null)}
            placeholder={filter.allLabel ?? `Any ${filter.label.toLowerCase()}`}
            options={filter.options}
          />
        ))}
        {activeKeys.length > 0 ? (
          <Button variant="ghost" size="sm" onClick={reset}>
            <X aria-hidden />
            Reset
          </Button>
        ) : null}
      </div>
      {children ? <div className="flex shrink-0 items-center gap-2">{children}</div> : null}
    </div>
  );
}
