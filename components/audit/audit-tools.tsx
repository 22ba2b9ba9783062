"use client";

import { useRef, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Download, ShieldCheck, X } from "lucide-react";

import { api, toQuery } from "@/lib/api/client";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { LocalTime } from "@/components/ui/local-time";

async function problemOf(res: Response): Promise<string> {
  const body = (await res.json().catch(() => null)) as { title?: string } | null;
  return body?.title ?? `Request failed (${res.status})`;
}

const kb = (bytes: number) => (bytes < 1024 * 1024 ? `${Math.round(bytes / 1024)} KB` : `${(bytes / 1024 / 1024).toFixed(1)} MB`);

/**
 * Exports the filtered set: the body is read as it streams (progress shown as it comes, the
 * download cancellable), then handed to the browser as a file.
 */
export function AuditExport({ filters }: { filters: Record<string, string | undefined> }) {
  const [state, setState] = useState<{ format: string; bytes: number; rows: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  async function run(format: "csv" | "jsonl") {
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setState({ format, bytes: 0, rows: 0 });
    try {
      const res = await fetch(`/api/v1/audit-events/export${toQuery({ ...filters, format })}`, { signal: controller.signal, credentials: "same-origin" });
      if (!res.ok || !res.body) throw new Error(await problemOf(res));
      const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? `portico-audit.${format}`;
      const parts: Uint8Array[] = [];
      let bytes = 0;
      let rows = 0;
      const reader = res.body.getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parts.push(value);
        bytes += value.byteLength;
        for (const b of value) if (b === 10) rows += 1;
        setState({ format, bytes, rows });
      }
      const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: res.headers.get("content-type") ?? "application/octet-stream" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (e) {
      if (!controller.signal.aborted) setError(e instanceof Error ? e.message : "The export failed");
    } finally {
      abort.current = null;
      setState(null);
    }
  }

  return (
    <div className="flex flex-wrap items-center gap-2">
      {state ? (
        <>
          <span role="status" className="text-xs text-muted-foreground">
            Exporting {state.format.toUpperCase()}: {state.rows.toLocaleString("en")} lines, {kb(state.bytes)}
          </span>
          <Button variant="outline" size="sm" onClick={() => abort.current?.abort()}>
            <X aria-hidden />
            Cancel export
          </Button>
        </>
      ) : (
        <>
          <Button variant="outline" size="sm" onClick={() => void run("csv")}>
            <Download aria-hidden />
            Export CSV
          </Button>
          <Button variant="outline" size="sm" onClick={() => void run("jsonl")}>
            <Download aria-hidden />
            Export JSONL
          </Button>
        </>
      )}
      {error ? <span className="text-xs text-destructive">{error}</span> : null}
    </div>
  );
}

type Failure = { seq: string; time: string; problem: string; detail: string };
type Job = {
  id: string;
  status: "running" | "passed" | "failed" | "cancelled" | "error" | "interrupted";
  startedBy: string;
  checked: number;
  total: number;
  verifiedUpTo: { seq: string; time: string } | null;
  checkpoints: number;
  failure: Failure | null;
  createdAt: string;
  finishedAt: string | null;
};

const jobsKey = ["audit-verifications"] as const;

const jobSummary = (j: Job) =>
  j.status === "passed"
    ? `Passed: ${j.checked.toLocaleString("en")} events, to seq ${j.verifiedUpTo?.seq ?? "—"}`
    : j.status === "failed"
      ? `Failed at seq ${j.failure?.seq} (${j.failure?.problem})`
      : j.status === "running"
        ? `Running: ${j.checked.toLocaleString("en")} of ${j.total.toLocaleString("en")}`
        : j.status === "cancelled"
          ? `Cancelled after ${j.checked.toLocaleString("en")} events`
          : j.status === "interrupted"
            ? "Interrupted (the control plane stopped)"
            : "Could not run";

/**
 * Chain verification as a job: started here, run by the control plane, polled while it runs. The
 * progress survives a reload (it is read back from the job), cancel works from any tab, and past
 * runs stay listed.
 */
export function AuditVerify() {
  const queryClient = useQueryClient();
  const [error, setError] = useState<string | null>(null);
  const { data } = useQuery({
    queryKey: jobsKey,
    queryFn: () => api<{ items: Job[] }>("GET", "/audit-verifications?limit=5"),
    refetchInterval: (query) => (query.state.data?.items[0]?.status === "running" ? 1000 : 15_000),
  });
  const start = useMutation({
    mutationFn: () => api<Job>("POST", "/audit-verifications"),
    onMutate: () => setError(null),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: jobsKey }),
    onError: (e) => setError(e.message),
  });
  const cancel = useMutation({
    mutationFn: (id: string) => api<Job>("POST", `/audit-verifications/${id}/cancel`),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: jobsKey }),
    onError: (e) => setError(e.message),
  });
  const jobs = data?.items ?? [];
  const latest = jobs[0] ?? null;
  const running = latest?.status === "running" ? latest : null;
  const percent = running && running.total ? Math.round((running.checked / running.total) * 100) : 0;

  return (
    <section aria-label="Chain verification" className="mb-3 grid gap-2">
      <div className="flex flex-wrap items-center gap-2">
        {running ? (
          <>
            <div className="h-2 w-48 overflow-hidden rounded bg-muted" role="progressbar" aria-label="Verification progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
              <div className="h-full bg-primary transition-[width]" style={{ width: `${percent}%` }} />
            </div>
            <span className="text-xs text-muted-foreground">
              {running.checked.toLocaleString("en")} / {running.total.toLocaleString("en")} events
            </span>
            <Button variant="outline" size="sm" disabled={cancel.isPending} onClick={() => cancel.mutate(running.id)}>
              <X aria-hidden />
              Cancel verification
            </Button>
          </>
        ) : (
          <Button variant="outline" size="sm" disabled={start.isPending} onClick={() => start.mutate()}>
            <ShieldCheck aria-hidden />
            Verify chain
          </Button>
        )}
      </div>
      {latest?.status === "passed" ? (
        <Alert variant="success" title="Chain verified">
          {latest.verifiedUpTo
            ? <>Verified up to seq {latest.verifiedUpTo.seq} at <LocalTime value={latest.verifiedUpTo.time} />: {latest.checked.toLocaleString("en")} events, {latest.checkpoints} signed checkpoints matched.</>
            : "The log is empty."}
        </Alert>
      ) : null}
      {latest?.status === "failed" && latest.failure ? (
        <Alert variant="destructive" title={`Chain broken at seq ${latest.failure.seq}`}>
          Seq {latest.failure.seq} (<LocalTime value={latest.failure.time} />): {latest.failure.problem}, {latest.failure.detail}.
          {latest.verifiedUpTo ? ` Intact up to seq ${latest.verifiedUpTo.seq}.` : ""}
        </Alert>
      ) : null}
      {latest && (latest.status === "cancelled" || latest.status === "interrupted" || latest.status === "error") ? (
        <p className="text-sm text-muted-foreground">Last verification: {jobSummary(latest)}.</p>
      ) : null}
      {jobs.length > 1 ? (
        <details className="text-xs text-muted-foreground">
          <summary className="cursor-pointer">Earlier verifications</summary>
          <ul aria-label="Earlier verifications" className="mt-1 grid gap-0.5">
            {jobs.slice(1).map((j) => (
              <li key={j.id}>
                <LocalTime value={j.createdAt} /> by {j.startedBy}: {jobSummary(j)}
              </li>
            ))}
          </ul>
        </details>
      ) : null}
      {error ? <p className="text-sm text-destructive">{error}</p> : null}
    </section>
  );
}
