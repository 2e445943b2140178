/**
 * OpenTelemetry tracing, off unless an OTLP endpoint is configured. One trace follows a
 * message: the gateway's HTTP request → the BullMQ job (traceparent in the job data) → the
 * Redis publish → the Kafka event (the envelope's `trace.traceparent` and a `traceparent`
 * header) → the audit entry. Spans are made by hand at those hops (no auto-instrumentation:
 * it would patch every client and multiply spans). With tracing off, the API is a no-op and
 * every helper here costs next to nothing.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  trace,
  type TextMapGetter,
  type TextMapSetter,
  type Attributes,
  type Context,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';

export { SpanKind };

export interface TracingOptions {
  /** OTLP/HTTP base URL (e.g. http://otel-collector:4318); traces go to `<endpoint>/v1/traces`. Unset: tracing off. */
  endpoint: string | undefined;
  /** How often finished spans are sent, ms (1 s). */
  flushMs?: number;
}

let sdk: NodeSDK | undefined;
const tracer = () => trace.getTracer('conversa');
const propagator = new W3CTraceContextPropagator();
type Carrier = Record<string, string>;
const setter: TextMapSetter<Carrier> = { set: (c, k, v) => (c[k] = v) };
const getter: TextMapGetter<Carrier> = { get: (c, k) => c[k], keys: (c) => Object.keys(c) };

/**
 * Starts the SDK for this process (service.name `conversa-<service>`) when an endpoint is
 * given; returns whether tracing is on. Call once, first thing in main.ts.
 */
export function startTracing(service: string, opts: TracingOptions): boolean {
  if (!opts.endpoint || sdk) return Boolean(sdk);
  const exporter = new OTLPTraceExporter({ url: `${opts.endpoint.replace(/\/+$/, '')}/v1/traces` });
  sdk = new NodeSDK({
    resource: resourceFromAttributes({ 'service.name': `conversa-${service}` }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: opts.flushMs ?? 1_000 })],
    textMapPropagator: propagator,
    instrumentations: [],
  });
  sdk.start();
  return true;
}

/** Sends the spans still buffered and stops the SDK (part of the graceful stop). */
export async function stopTracing(): Promise<void> {
  const s = sdk;
  sdk = undefined;
  await s?.shutdown().catch(() => undefined);
}

/** The W3C `traceparent` of the active span, to carry across a process boundary; undefined when none. */
export function currentTraceparent(): string | undefined {
  const carrier: Carrier = {};
  propagator.inject(context.active(), carrier, setter);
  return carrier.traceparent;
}

/** The context a `traceparent` from another process continues (the root context when absent or invalid). */
export function contextFrom(traceparent: string | undefined): Context {
  if (!traceparent) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, { traceparent }, getter);
}

export interface SpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** Continue this trace (a traceparent carried in a job or an event) instead of the active one. */
  parent?: string | undefined;
}

/**
 * Runs `fn` inside a new active span (a child of `parent` when given, else of the active span),
 * ends it when `fn` settles, and records an exception as the span's error.
 */
export async function withSpan<T>(name: string, opts: SpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = opts.parent !== undefined ? contextFrom(opts.parent) : context.active();
  const span = tracer().startSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, ...(opts.attributes ? { attributes: opts.attributes } : {}) }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e instanceof Error ? e : String(e));
    span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    span.end();
  }
}

/**
 * One span per carried traceparent around a batched operation (a Kafka send of many events,
 * an audit batch write): each item's trace gets its own hop, all ending with the batch. `fn`
 * gets the traceparent of each item's span (aligned with `parents`; undefined where there was
 * none) to carry on, e.g. in a Kafka header.
 */
export async function withSpans<T>(
  name: string,
  kind: SpanKind,
  parents: readonly (string | undefined)[],
  attributes: Attributes,
  fn: (children: (string | undefined)[]) => Promise<T>,
): Promise<T> {
  const spans: Span[] = [];
  const children = parents.map((p) => {
    if (!p) return undefined;
    const span = tracer().startSpan(name, { kind, attributes }, contextFrom(p));
    spans.push(span);
    const carrier: Carrier = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, setter);
    return carrier.traceparent;
  });
  try {
    return await fn(children);
  } catch (e) {
    for (const s of spans) s.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    for (const s of spans) s.end();
  }
}

/** `{ trace_id, span_id }` of the active span for log lines; empty when there is none. */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const sc = trace.getActiveSpan()?.spanContext();
  if (!sc || !trace.isSpanContextValid(sc)) return {};
  return { trace_id: sc.traceId, span_id: sc.spanId };
}
