/**
 * The upstream client's one contact with tracing, free of any OpenTelemetry import: null unless
 * gateway/tracing.ts is on, so a gateway without an OTLP endpoint reads one variable per POST.
 * Given the request's URL and headers, it adds `traceparent` and returns what ends the upstream span.
 */
export type UpstreamTrace = (url: URL, headers: Record<string, string>) => ((outcome: number | Error) => void) | null;

export let upstreamTrace: UpstreamTrace | null = null;

export function setUpstreamTrace(trace: UpstreamTrace | null): void {
  upstreamTrace = trace;
}
