/**
 * /metrics of every service after some traffic: the key series exist and moved. The services
 * run as processes (gateway on its main port, chat and audit on their probe ports).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import {
  REPO,
  collect,
  eventually,
  gql,
  gqlOk,
  register,
  startSystem,
  wsClient,
  type Session,
  type System,
} from './harness.js';
import { scrape, sum, type Sample } from './metrics-text.js';

const SEND =
  'mutation($room: ID!, $body: String!, $c: String!) { sendMessage(room: $room, body: $body, clientMsgId: $c) { seq } }';
const SENDS = 5;

describe('metrics of every service (Prometheus text on /metrics)', () => {
  let sys: System;
  let alice: Session;
  let client: Client | undefined;
  const tag = randomUUID().slice(0, 6);
  const room = `metrics-${tag}`;
  const port = (name: string) => {
    const p = sys.procs.find((x) => x.name === name)?.port;
    if (p === undefined) throw new Error(`no ${name}`);
    return p;
  };

  beforeAll(async () => {
    sys = await startSystem();
    const http = sys.gateways[0]!.http;
    alice = await register(http, `alice_${tag}`, 'Alice');
    await gqlOk(
      http,
      'mutation($n: String!) { joinRoom(name: $n) { id } }',
      { n: room },
      alice.token,
    );
    client = wsClient(sys.gateways[0]!.ws, alice.token);
    const sub = collect<{ messageAdded: { seq: number } }>(
      client,
      'subscription($r: ID!) { messageAdded(room: $r, after: 0) { seq } }',
      { r: room },
    );
    for (let i = 0; i < SENDS; i++)
      await gqlOk(http, SEND, { room, body: `m${i}`, c: `c-${i}` }, alice.token);
    await sub.until(SENDS);
    // One refusal: a room that does not exist.
    const refused = await gql(
      http,
      SEND,
      { room: `nowhere-${tag}`, body: 'x', c: 'x' },
      alice.token,
    );
    expect(refused.errors?.[0]?.extensions?.code).toBeDefined();
  });

  afterAll(async () => {
    await client?.dispose();
    await sys?.stop();
  });

  it('gateway: operations by root field and outcome, latency, sockets, subscriptions, errors, process', async () => {
    const m = await scrape(sys.gateways[0]!.port);
    const ok = { transport: 'http', type: 'mutation', operation: 'sendMessage', outcome: 'ok' };
    expect(sum(m, 'conversa_graphql_operations_total', ok)).toBe(SENDS);
    expect(sum(m, 'conversa_graphql_operation_duration_seconds_count', ok)).toBe(SENDS);
    expect(sum(m, 'conversa_graphql_operation_duration_seconds_sum', ok)).toBeGreaterThan(0);
    const refusals = m.filter(
      (s) =>
        s.name === 'conversa_graphql_operations_total' &&
        s.labels.operation === 'sendMessage' &&
        s.labels.outcome !== 'ok',
    );
    expect(refusals.map((s) => s.labels.outcome)).toEqual([
      expect.stringMatching(/^(NOT_FOUND|FORBIDDEN)$/),
    ]);
    expect(
      sum(m, 'conversa_graphql_operations_total', {
        transport: 'http',
        operation: 'register',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(
      sum(m, 'conversa_graphql_operations_total', {
        transport: 'ws',
        type: 'subscription',
        operation: 'messageAdded',
        outcome: 'ok',
      }),
    ).toBe(1);
    expect(sum(m, 'conversa_ws_connections')).toBe(1);
    expect(sum(m, 'conversa_graphql_active_subscriptions')).toBe(1);
    expect(sum(m, 'conversa_room_hubs')).toBe(1);
    expect(sum(m, 'conversa_dependency_errors_total', { dependency: 'redis' })).toBe(0);
    expect(sum(m, 'conversa_dependency_errors_total', { dependency: 'mongo' })).toBe(0);
    expect(sum(m, 'conversa_process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(m.every((s) => s.labels.service === 'gateway')).toBe(true);
  });

  it('gateway: a closed socket ends its subscriptions in the gauges', async () => {
    await client?.dispose();
    client = undefined;
    await eventually('the socket to be gone from the gauges', async () => {
      const m = await scrape(sys.gateways[0]!.port);
      return sum(m, 'conversa_ws_connections') === 0 &&
        sum(m, 'conversa_graphql_active_subscriptions') === 0
        ? true
        : undefined;
    });
  });

  it('chat: jobs by command and outcome with latency, queue depth, outbox pending and published', async () => {
    const m: Sample[] = await eventually('the relay to have published every event', async () => {
      const s = await scrape(port('chat'));
      return sum(s, 'conversa_outbox_pending_documents') === 0 &&
        (sum(s, 'conversa_outbox_published_events_total') ?? 0) >= SENDS + 3
        ? s
        : undefined;
    });
    expect(sum(m, 'conversa_command_jobs_total', { command: 'message.send', outcome: 'ok' })).toBe(
      SENDS,
    );
    expect(
      sum(m, 'conversa_command_jobs_total', { command: 'message.send', outcome: 'refused' }),
    ).toBe(1);
    expect(sum(m, 'conversa_command_jobs_total', { command: 'user.register', outcome: 'ok' })).toBe(
      1,
    );
    expect(sum(m, 'conversa_command_job_duration_seconds_count', { command: 'message.send' })).toBe(
      SENDS + 1,
    );
    expect(sum(m, 'conversa_command_queue_depth', { state: 'waiting' })).toBe(0);
    expect(sum(m, 'conversa_command_queue_depth', { state: 'active' })).toBeDefined();
    // Present from the start; not asserted 0: kafkajs reports transient errors while a new
    // topic elects its leaders, which count (they are errors talking to Kafka).
    expect(
      sum(m, 'conversa_dependency_errors_total', { dependency: 'kafka', op: 'produce' }),
    ).toBeDefined();
    expect(sum(m, 'conversa_dependency_errors_total', { dependency: 'redis' })).toBe(0);
    expect(sum(m, 'conversa_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('audit: events appended, consumer lag per group', async () => {
    const m: Sample[] = await eventually('the audit log to hold the messages', async () => {
      const s = await scrape(port('audit'));
      return (sum(s, 'conversa_audit_events_appended_total') ?? 0) >= SENDS ? s : undefined;
    });
    expect(
      sum(m, 'conversa_kafka_consumer_lag', { group: `${sys.namespace}-audit` }),
    ).toBeGreaterThanOrEqual(0);
    expect(sum(m, 'conversa_dependency_errors_total', { dependency: 'mongo' })).toBe(0);
    expect(sum(m, 'conversa_process_cpu_user_seconds_total')).toBeGreaterThan(0);
  });

  it('every series the Grafana dashboard and the alerting rules query is exposed by some service', async () => {
    const dashboard = readFileSync(`${REPO}infra/grafana/conversa.json`, 'utf8') + readFileSync(`${REPO}infra/prometheus/alerts.yaml`, 'utf8');
    const wanted = new Set(
      [...dashboard.matchAll(/\b(conversa_[a-z0-9_]+)/g)].map((m) =>
        m[1]!.replace(/_(bucket|count|sum)$/, ''),
      ),
    );
    const exposed = new Set<string>();
    for (const p of [sys.gateways[0]!.port, port('chat'), port('audit')]) {
      // Declared families count too: a labelled counter has no sample before its first event.
      const text = await (await fetch(`http://127.0.0.1:${p}/metrics`)).text();
      for (const m of text.matchAll(/^# TYPE (\S+)/gm)) exposed.add(m[1]!);
    }
    expect([...wanted].filter((n) => !exposed.has(n))).toEqual([]);
  });

  it('/metrics answers HEAD and GET only there; other probes are unchanged', async () => {
    expect(
      (await fetch(`http://127.0.0.1:${port('chat')}/metrics`, { method: 'HEAD' })).status,
    ).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port('chat')}/healthz`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port('audit')}/nothing`)).status).toBe(404);
  });
});
