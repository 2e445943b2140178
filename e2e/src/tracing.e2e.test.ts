/**
 * One trace per message, across the three processes: the services export OTLP/HTTP (JSON) to a
 * small collector this test runs; a sendMessage must yield one trace with the gateway's HTTP
 * span, the chat's command span, its Redis publish, the Kafka publish and the audit append,
 * each a child of the one before; a log line of the chat carries that trace id.
 */
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, gqlOk, register, startSystem, type System } from './harness.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  service: string;
}

interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans?: { spans?: Omit<OtlpSpan, 'service'>[] }[];
  }[];
}

describe('tracing: one trace from the HTTP request to the audit entry', () => {
  let sys: System;
  let collector: Server;
  const spans: OtlpSpan[] = [];
  const tag = randomUUID().slice(0, 6);

  beforeAll(async () => {
    collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.url === '/v1/traces') {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as OtlpExport;
          for (const rs of body.resourceSpans ?? []) {
            const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '?';
            for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
          }
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const addr = collector.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    sys = await startSystem({ env: { OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`, LOG_LEVEL: 'debug' } });
  });

  afterAll(async () => {
    await sys?.stop();
    await new Promise((r) => collector?.close(r));
  });

  it('links gateway → chat job → Redis publish → Kafka publish → audit append in one trace; logs carry its id', async () => {
    const http = sys.gateways[0]!.http;
    const alice = await register(http, `alice_${tag}`, 'Alice');
    const room = `traced-${tag}`;
    await gqlOk(http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, alice.token);
    const sent = await gqlOk<{ sendMessage: { id: string } }>(
      http,
      'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id } }',
      { r: room, b: 'follow me', c: 'trace-1' },
      alice.token,
    );
    expect(sent.sendMessage.id).toBeTruthy();

    // The send's trace is the one whose command span is message.send.
    const chain = await eventually(
      'the whole chain of spans',
      () => {
        const command = spans.find((s) => s.name === 'command message.send');
        if (!command) return undefined;
        const inTrace = spans.filter((s) => s.traceId === command.traceId);
        const byName = (n: string) => inTrace.find((s) => s.name.startsWith(n));
        const chain = ['POST /graphql', 'command message.send', 'redis publish', 'kafka publish', 'audit append'].map(byName);
        return chain.every(Boolean) ? (chain as OtlpSpan[]) : undefined;
      },
      30_000,
    );
    const [httpSpan, commandSpan, redisSpan, kafkaSpan, auditSpan] = chain as [OtlpSpan, OtlpSpan, OtlpSpan, OtlpSpan, OtlpSpan];
    expect([httpSpan.service, commandSpan.service, redisSpan.service, kafkaSpan.service, auditSpan.service]).toEqual([
      'conversa-gateway',
      'conversa-chat',
      'conversa-chat',
      'conversa-chat',
      'conversa-audit',
    ]);
    expect(commandSpan.parentSpanId).toBe(httpSpan.spanId);
    expect(redisSpan.parentSpanId).toBe(commandSpan.spanId);
    expect(kafkaSpan.parentSpanId).toBe(commandSpan.spanId);
    expect(auditSpan.parentSpanId).toBe(kafkaSpan.spanId);

    const chat = sys.procs.find((p) => p.name === 'chat')!;
    const traced = chat.output
      .join('')
      .split('\n')
      .filter((l) => l.includes('"command done"'))
      .map((l) => JSON.parse(l) as { trace_id?: string; command?: string });
    expect(traced.some((l) => l.command === 'message.send' && l.trace_id === commandSpan.traceId)).toBe(true);
  });
});
