"use client";

import { useRef, useState } from "react";
import { Download, ShieldCheck, X } from "lucide-react";

import { toQuery } from "@/lib/api/client";
import { formatDateTime } from "@/lib/format";
import { Alert } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";

/** Reads a streamed body line by line as it arrives. */
async function* lines(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl = buffer.indexOf("\n");
    while (nl >= 0) {
      yield buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      nl = buffer.indexOf("\n");
    }
  }
  if (buffer) yield buffer;
}

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
type Result = { ok: boolean; checked: number; total: number; verifiedUpTo: { seq: string; time: string } | null; checkpoints: number; failure: Failure | null };

/** Runs a chain verification from the browser: progress bar, cancel, and its result. */
export function AuditVerify() {
  const [progress, setProgress] = useState<{ checked: number; total: number } | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);

  async function run() {
    const controller = new AbortController();
    abort.current = controller;
    setError(null);
    setResult(null);
    setProgress({ checked: 0, total: 0 });
    try {
      const res = await fetch("/api/v1/audit-events/verify", { method: "POST", signal: controller.signal, credentials: "same-origin" });
      if (!res.ok || !res.body) throw new Error(await problemOf(res));
      for await (const line of lines(res.body)) {
        if (!line.trim()) continue;
        const msg = JSON.parse(line) as { type: string } & Partial<Result> & { message?: string };
        if (msg.type === "progress") setProgress({ checked: msg.checked ?? 0, total: msg.total ?? 0 });
        else if (msg.type === "result") setResult(msg as Result);
        else if (msg.type === "error") setError(msg.message ?? "The verification could not run");
      }
    } catch (e) {
      setError(controller.signal.aborted ? "Verification cancelled." : e instanceof Error ? e.message : "The verification failed to run");
    } finally {
      abort.current = null;
      setProgress(null);
    }
  }

  const percent = progress && progress.total ? Math.round((progress.checked / progress.total) * 100) : 0;

  return (
    <section aria-label="Chain verification" className="mb-3 grid gap-2">
      <div className="flex flex-wrap items-center gap-2">
        {progress ? (
          <>
            <div className="h-2 w-48 overflow-hidden rounded bg-muted" role="progressbar" aria-label="Verification progress" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
              <div className="h-full bg-primary transition-[width]" style={{ width: `${percent}%` }} />
            </div>
            <span className="text-xs text-muted-foreground">
              {progress.checked.toLocaleString("en")} / {progress.total.toLocaleString("en")} events
            </span>
            <Button variant="outline" size="sm" onClick={() => abort.current?.abort()}>
              <X aria-hidden />
              Cancel verification
            </Button>
          </>
        ) : (
          <Button variant="outline" size="sm" onClick={() => void run()}>
            <ShieldCheck aria-hidden />
            Verify chain
          </Button>
        )}
      </div>
      {result?.ok ? (
        <Alert variant="success" title="Chain verified">
          {result.verifiedUpTo
            ? `Verified up to seq ${result.verifiedUpTo.seq} at ${formatDateTime(result.verifiedUpTo.time)}: ${result.checked.toLocaleString("en")} events, ${result.checkpoints} signed checkpoints matched.`
            : "The log is empty."}
        </Alert>
      ) : null}
      {result && !result.ok && result.failure ? (
        <Alert variant="destructive" title={`Chain broken at seq ${result.failure.seq}`}>
          Seq {result.failure.seq} ({formatDateTime(result.failure.time)}): {result.failure.problem}, {result.failure.detail}.
          {result.verifiedUpTo ? ` Intact up to seq ${result.verifiedUpTo.seq}.` : ""}
        </Alert>
      ) : null}
      {error ? <p className="text-sm text-destructive">{error}</p> : null}
    </section>
  );
}
