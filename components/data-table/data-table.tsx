"use client";

import {
  flexRender,
  getCoreRowModel,
  useReactTable,
  type ColumnDef,
  type RowData,
  type SortingState,
} from "@tanstack/react-table";
import { ArrowDown, ArrowUp, ArrowUpDown, ChevronLeft, ChevronRight } from "lucide-react";

import { cn } from "@/lib/utils";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { ORDER_PARAM, SORT_PARAM, useTableSearchParams } from "@/components/data-table/use-table-search-params";

declare module "@tanstack/react-table" {
  // The type parameters must match TanStack's declaration to merge with it.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface ColumnMeta<TData extends RowData, TValue> {
    /** Classes for this column's header and cells, e.g. "text-right" or "w-0". */
    className?: string;
  }
}

export type DataTableProps<TData, TValue> = {
  /** Sorting is opt-in per column (`enableSorting: true`): only the columns the API can sort by. */
  columns: ColumnDef<TData, TValue>[];
  data: TData[];
  /** The server's cursor for the page after this one; null on the last page. */
  nextCursor: string | null;
  isLoading?: boolean;
  /** Shown in place of the rows when there are none, e.g. an `<EmptyState>`. */
  emptyState: React.ReactNode;
  onRowClick?: (row: TData) => void;
  /** Stable row keys (usually the record id); falls back to the index. */
  getRowId?: (row: TData, index: number) => string;
  /** An accessible name for the table, e.g. "MCP servers". */
  label?: string;
  /** How many skeleton rows stand in for a page during the first load. */
  skeletonRows?: number;
  className?: string;
};

// Clicks on controls inside a row (links, buttons, switches) must not also open the row.
const INTERACTIVE = "a,button,input,select,textarea,label,summary,[role=switch],[role=checkbox],[role=menuitem],[data-no-row-click]";

/**
 * A table for server-side data: the server sorts, filters and pages, this only renders. The sort,
 * filters and cursor live in the URL (see `useTableSearchParams`); the caller reads the same params
 * to fetch `data` and `nextCursor`.
 */
export function DataTable<TData, TValue>({
  columns,
  data,
  nextCursor,
  isLoading = false,
  emptyState,
  onRowClick,
  getRowId,
  label,
  skeletonRows = 8,
  className,
}: DataTableProps<TData, TValue>) {
  const { get, setParams, setCursor, previousPage, hasPreviousPage, pageIndex, isPending } = useTableSearchParams();

  const sortId = get(SORT_PARAM);
  const sorting: SortingState = sortId ? [{ id: sortId, desc: get(ORDER_PARAM) === "desc" }] : [];

  // eslint-disable-next-line react-hooks/incompatible-library -- TanStack Table is not compiler-safe; this component is not memoised by hand either.
  const table = useReactTable({
    data,
    columns,
    getRowId,
    getCoreRowModel: getCoreRowModel(),
    manualPagination: true,
    manualSorting: true,
    manualFiltering: true,
    enableMultiSort: false,
    defaultColumn: { enableSorting: false },
    state: { sorting },
    onSortingChange: (updater) => {
      const next = typeof updater === "function" ? updater(sorting) : updater;
      const first = next[0];
      setParams({ [SORT_PARAM]: first?.id ?? null, [ORDER_PARAM]: first ? (first.desc ? "desc" : "asc") : null });
    },
  });

  const isBusy = isLoading || isPending;
  const rows = table.getRowModel().rows;
  const columnCount = table.getVisibleLeafColumns().length;
  const showPager = hasPreviousPage || nextCursor !== null;

  return (
    <div className={cn("flex flex-col gap-3", className)}>
      <div className="overflow-hidden rounded-lg border bg-card">
        <Table aria-label={label} aria-busy={isBusy || undefined} className={cn(isBusy && rows.length > 0 && "opacity-60 transition-opacity")}>
          <TableHeader className="bg-muted/40">
            {table.getHeaderGroups().map((headerGroup) => (
              <TableRow key={headerGroup.id} className="hover:bg-transparent">
                {headerGroup.headers.map((header) => {
                  const column = header.column;
                  const sorted = column.getIsSorted();
                  const content = header.isPlaceholder ? null : flexRender(column.columnDef.header, header.getContext());
                  const SortIcon = sorted === "asc" ? ArrowUp : sorted === "desc" ? ArrowDown : ArrowUpDown;
                  return (
                    <TableHead
                      key={header.id}
                      colSpan={header.colSpan}
                      aria-sort={sorted === "asc" ? "ascending" : sorted === "desc" ? "descending" : column.getCanSort() ? "none" : undefined}
                      className={column.columnDef.meta?.className}
                    >
                      {column.getCanSort() && !header.isPlaceholder ? (
                        <button
                          type="button"
                          onClick={column.getToggleSortingHandler()}
                          className={cn(
                            "-mx-2 inline-flex h-7 cursor-pointer items-center gap-1.5 rounded-md px-2 uppercase outline-none hover:bg-accent hover:text-accent-foreground focus-visible:ring-[3px] focus-visible:ring-ring/50",
                            sorted && "text-foreground",
                          )}
                        >
                          {content}
                          <SortIcon aria-hidden className={cn("size-3.5", !sorted && "opacity-50")} />
                        </button>
                      ) : (
                        content
                      )}
                    </TableHead>
                  );
                })}
              </TableRow>
            ))}
          </TableHeader>
          <TableBody>
            {isLoading && rows.length === 0 ? (
              Array.from({ length: skeletonRows }, (_, rowIndex) => (
                <TableRow key={`skeleton-${rowIndex}`} className="hover:bg-transparent">
                  {Array.from({ length: columnCount }, (_, cellIndex) => (
                    <TableCell key={cellIndex}>
                      <Skeleton className={cn("h-4", cellIndex === 0 ? "w-40" : "w-20")} />
                    </TableCell>
                  ))}
                </TableRow>
              ))
            ) : rows.length === 0 ? (
              <TableRow className="hover:bg-transparent">
                <TableCell colSpan={columnCount} className="p-6 whitespace-normal">
                  {emptyState}
                </TableCell>
              </TableRow>
            ) : (
              rows.map((row) => (
                <TableRow
                  key={row.id}
                  tabIndex={onRowClick ? 0 : undefined}
                  onClick={
                    onRowClick
                      ? (event) => {
                          if (event.target instanceof Element && event.target.closest(INTERACTIVE)) return;
                          onRowClick(row.original);
                        }
                      : undefined
                  }
                  onKeyDown={
                    onRowClick
                      ? (event) => {
                          if (event.target !== event.currentTarget) return;
                          if (event.key === "Enter" || event.key === " ") {
                            event.preventDefault();
                            onRowClick(row.original);
                          }
                        }
                      : undefined
                  }
                  className={cn(
                    onRowClick && "cursor-pointer outline-none focus-visible:bg-muted/60 focus-visible:ring-[3px] focus-visible:ring-ring/50 focus-visible:ring-inset",
                  )}
                >
                  {row.getVisibleCells().map((cell) => (
                    <TableCell key={cell.id} className={cell.column.columnDef.meta?.className}>
                      {flexRender(cell.column.columnDef.cell, cell.getContext())}
                    </TableCell>
                  ))}
                </TableRow>
              ))
            )}
          </TableBody>
        </Table>
      </div>

      {showPager ? (
        <nav aria-label="Pagination" className="flex items-center justify-between gap-3">
          <p className="text-sm text-muted-foreground" aria-live="polite">
            Page {pageIndex + 1}
          </p>
          <div className="flex items-center gap-2">
            <Button variant="outline" size="sm" onClick={previousPage} disabled={!hasPreviousPage || isBusy}>
              <ChevronLeft aria-hidden />
              Previous
            </Button>
            <Button
              variant="outline"
              size="sm"
              onClick={() => nextCursor && setCursor(nextCursor)}
              disabled={!nextCursor || isBusy}
            >
              Next
              <ChevronRight aria-hidden />
            </Button>
          </div>
        </nav>
      ) : null}
    </div>
  );
}
