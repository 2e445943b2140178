import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { SpanKind, activeTraceFields, currentTraceparent, withSpan, withSpans } from './tracing.js';

const PARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('tracing helpers while tracing is off', () => {
  it('carry nothing and cost nothing', async () => {
    expect(currentTraceparent()).toBeUndefined();
    await withSpan('x', {}, () => {
      expect(activeTraceFields()).toEqual({});
      return Promise.resolve();
    });
  });
});

describe('tracing helpers with an SDK', () => {
  const exporter = new InMemorySpanExporter();
  const processor = new SimpleSpanProcessor(exporter);
  const sdk = new NodeSDK({ spanProcessors: [processor], instrumentations: [] });
  // Exports wait for the resource detectors: flush before reading the exporter.
  const finished = async () => {
    await processor.forceFlush();
    return exporter.getFinishedSpans();
  };
  beforeAll(() => sdk.start());
  afterAll(() => sdk.shutdown());

  it('withSpan continues a carried traceparent, exposes its own, and marks log fields', async () => {
    let inner: string | undefined;
    let fields: ReturnType<typeof activeTraceFields> = {};
    await withSpan('command x', { kind: SpanKind.CONSUMER, parent: PARENT }, async () => {
      await Promise.resolve(); // across an await
      inner = currentTraceparent();
      fields = activeTraceFields();
    });
    const [span] = (await finished()).filter((s) => s.name === 'command x');
    expect(span?.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    expect(span?.parentSpanContext?.spanId).toBe('b7ad6b7169203331');
    expect(inner).toBe(`00-0af7651916cd43dd8448eb211c80319c-${span?.spanContext().spanId}-01`);
    expect(fields).toEqual({ trace_id: '0af7651916cd43dd8448eb211c80319c', span_id: span?.spanContext().spanId });
  });

  it('withSpans opens one span per carried parent and hands out their traceparents', async () => {
    exporter.reset();
    const children = await withSpans('kafka publish t', SpanKind.PRODUCER, [PARENT, undefined], {}, (c) => Promise.resolve(c));
    expect(children[1]).toBeUndefined();
    const spans = await finished();
    expect(spans).toHaveLength(1);
    expect(children[0]).toBe(`00-0af7651916cd43dd8448eb211c80319c-${spans[0]?.spanContext().spanId}-01`);
  });

  it('records a failure on the span and rethrows', async () => {
    exporter.reset();
    await expect(withSpan('boom', {}, () => Promise.reject(new Error('nope')))).rejects.toThrow('nope');
    expect((await finished())[0]?.status.message).toBe('nope');
  });
});
