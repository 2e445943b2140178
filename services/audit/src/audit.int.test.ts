/**
 * The audit service as main.ts builds it (createAudit), against real Kafka and FerretDB, in a
 * namespace of its own (`it-<uuid8>`: topics, consumer groups, database), cleaned up after:
 * both consumer groups, the chained log, moderation actions out, dead letters, /metrics.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVerifier, ModerationAction, eventRecord, newEvent, type DomainEvent, type MessageView } from '@conversa/contracts';
import { loadConfig } from '@conversa/config';
import { KafkaAdapter, type EventProducer, type Follower, type IncomingRecord } from '@conversa/kafka';
import { createLogger } from '@conversa/observability';
import { openStore, type Store, toStoredChainEntry } from '@conversa/store';
import { createAudit, type AuditService } from './audit.js';
import { RulesFile } from './moderation/rules.js';

const uuid8 = () => randomUUID().slice(0, 8);
const logger = createLogger('audit-it', 'silent');

async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const ns = `it-${uuid8()}`;
const config = loadConfig({
  CONVERSA_NAMESPACE: ns,
  MONGO_DB: `it_${uuid8()}`,
  AUDIT_PORT: '0',
  KAFKA_PARTITIONS: '2',
  AUDIT_RECONCILE_INTERVAL_MS: '0', // run by hand below
  MONGO_URL: process.env.MONGO_URL,
  KAFKA_BROKERS: process.env.KAFKA_BROKERS,
  LOG_LEVEL: 'silent',
});
const rules = RulesFile.parse({
  version: 1,
  rules: [
    { id: 'words', type: 'banned-words', words: ['darn'], action: { kind: 'hide' } },
    { id: 'flood', type: 'flood', maxMessages: 3, windowSeconds: 60, action: { kind: 'mute', scope: 'room', minutes: 5 } },
  ],
});

let audit: AuditService;
let kafka: KafkaAdapter;
let producer: EventProducer;
let store: Store;
const followers: Follower[] = [];
const actions: IncomingRecord[] = [];
const deadLetters: IncomingRecord[] = [];

const author = { id: 'u-ann', username: 'ann', displayName: 'Ann', role: 'USER' as const };
let seq = 0;
const posted = (room: string, body: string): DomainEvent => {
  seq++;
  const message: MessageView = { id: `m-${uuid8()}`, room, seq, author, body, status: 'VISIBLE', clientMsgId: `c${seq}`, createdAt: new Date().toISOString(), editedAt: null, pinned: false };
  return newEvent('message.posted', room, author.id, { message });
};
const send = (events: DomainEvent[]) =>
  producer.send(
    audit.names.eventsTopic,
    events.map((e) => ({ key: e.key, value: JSON.stringify(e), headers: { 'event-type': e.type, 'event-id': e.id, 'event-version': '1' } })),
  );

beforeAll(async () => {
  audit = await createAudit(config, logger, { rules });
  await audit.start();
  kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: `it-audit-${uuid8()}`, logger });
  producer = await kafka.producer();
  store = await openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB });
  followers.push(await kafka.follow({ topics: [audit.names.moderationTopic], groupPrefix: `${ns}-it`, fromBeginning: true }, (r) => void actions.push(r)));
  followers.push(await kafka.follow({ topics: [audit.names.deadLetterTopic], groupPrefix: `${ns}-it`, fromBeginning: true }, (r) => void deadLetters.push(r)));
});

afterAll(async () => {
  for (const f of followers) await f.stop();
  await audit?.stop();
  await producer?.close();
  await store?.dropDatabase();
  await store?.close();
  await kafka?.deleteTopics([audit.names.eventsTopic, audit.names.moderationTopic, audit.names.deadLetterTopic]).catch(() => undefined);
  await kafka?.close();
});

describe('the audit service', () => {
  it('appends every event once to hash chains that verify, and counts duplicates', async () => {
    const events = [
      newEvent('room.created', 'lobby', author.id, { room: 'lobby', name: 'Lobby', kind: 'PUBLIC', members: [] }),
      newEvent('room.joined', 'lobby', author.id, { room: 'lobby', user: author.id }),
      posted('lobby', 'hello'),
      newEvent('user.renamed', author.id, author.id, { user: { ...author, displayName: 'Annie' }, previousDisplayName: 'Ann' }),
    ];
    await send(events);
    await send(events.slice(0, 2)); // a redelivery: no second entry
    await eventually('4 entries and 2 duplicates', () => (audit.stats.appended >= 4 && audit.stats.duplicates >= 2 ? true : undefined));
    expect(await store.audit.count()).toBe(4);
    const v = new ChainVerifier(await store.audit.allChainHeads());
    for await (const d of store.audit.chainedCursor()) expect(v.push(toStoredChainEntry(d)!)).toBeUndefined();
    expect(v.finish()).toBeUndefined();
    expect([v.entries, v.chains]).toEqual([4, 2]); // the room's chain and the user's
  });

  it('hides a banned word and mutes a flood, sending actions to the moderation topic', async () => {
    const bad = posted('street', 'well D 4 R N it');
    await send([bad, posted('street', 'two'), posted('street', 'three')]);
    const hide = await eventually('the hide action', () => actions.map((r) => ModerationAction.parse(JSON.parse(r.value!.toString()))).find((a) => a.kind === 'hide'));
    expect(hide).toMatchObject({ kind: 'hide', target: bad.type === 'message.posted' ? bad.data.message.id : '', room: 'street', rule: 'words', by: null, reason: 'banned term "darn"' });
    const record = actions.find((r) => r.headers['action-kind'] === 'hide')!;
    expect(record.key).toBe(hide.target);
    expect(record.headers['action-id']).toBe(hide.id);

    await send([posted('street', 'four')]);
    const mute = await eventually('the mute action', () => actions.map((r) => ModerationAction.parse(JSON.parse(r.value!.toString()))).find((a) => a.kind === 'mute'));
    expect(mute).toMatchObject({ target: author.id, room: 'street', rule: 'flood', reason: '4 messages in 60 s (at most 3)' });
    expect(Date.parse(mute.until!) - Date.parse(mute.at)).toBe(5 * 60_000);
  });

  it('dead-letters what it cannot parse, once per consumer group, and goes on', async () => {
    await producer.send(audit.names.eventsTopic, [{ key: 'lobby', value: '{"not":"an event"}' }]);
    const after = newEvent('room.left', 'lobby', author.id, { room: 'lobby', user: author.id });
    await send([after]);
    const parked = await eventually('two dead letters', () => (deadLetters.length >= 2 ? deadLetters : undefined));
    expect(parked.map((r) => r.headers['dlq-consumer']).sort()).toEqual([`${ns}-audit`, `${ns}-moderation`]);
    expect(parked[0]!.headers['dlq-reason']).toMatch(/^not a known domain event/);
    expect(parked[0]!.value?.toString()).toBe('{"not":"an event"}');
    await eventually('the event after the bad one', async () => ((await store.audit.count({ type: 'room.left' })) === 1 ? true : undefined));
  });

  it('serves metrics: appended, duplicates, dead letters, actions by rule, consumer lag', async () => {
    const res = await fetch(`http://127.0.0.1:${audit.port}/metrics`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^conversa_audit_events_appended_total\{service="audit"\} \d+/m);
    expect(text).toMatch(/^conversa_audit_events_duplicate_total\{service="audit"\} [1-9]/m);
    expect(text).toContain(`conversa_dead_lettered_total{consumer="${ns}-audit",service="audit"} 1`);
    expect(text).toContain('conversa_moderation_actions_total{rule="words",kind="hide",service="audit"} 1');
    expect(text).toContain('conversa_moderation_actions_total{rule="flood",kind="mute",service="audit"} 1');
    expect(text).toMatch(new RegExp(`^conversa_kafka_consumer_lag\\{group="${ns}-moderation",service="audit"\\} \\d+`, 'm'));
    const ready = await fetch(`http://127.0.0.1:${audit.port}/readyz`);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { consumers: 'ok' } });
  });
});

/** Stores message `seq` of the room with its posted event, as the chat worker does; returns the event. */
async function storeMessage(room: string, seq: number, createdAt: Date): Promise<DomainEvent> {
  const message: MessageView = { id: `${room}:${seq}`, room, seq, author, body: `#${seq}`, status: 'VISIBLE', clientMsgId: `c${seq}`, createdAt: createdAt.toISOString(), editedAt: null, pinned: false };
  const posted = newEvent('message.posted', room, author.id, { message });
  await store.messages.insert({ room, seq, authorId: author.id, body: `#${seq}`, status: 'VISIBLE', clientMsgId: `c${seq}`, createdAt, editedAt: null, outbox: [], posted });
  return posted;
}

describe('audit reconciliation', () => {
  it('appends the events of stored messages that never reached Kafka, once each, and the chains verify', async () => {
    const room = `r-${uuid8()}`;
    await store.rooms.ensure({ _id: room, name: room, kind: 'PUBLIC', pair: [], createdAt: new Date(), outbox: [] });
    const before = await store.audit.count({ type: 'message.posted' });
    const postedIn = async (n: number) => ((await store.audit.count({ type: 'message.posted' })) - before === n ? true : undefined);
    const old = new Date(Date.now() - 10 * 60_000);
    const events: DomainEvent[] = [];
    for (let seq = 1; seq <= 12; seq++) events.push(await storeMessage(room, seq, old));
    // What the relay is believed to have published: all marks gone, but only some events sent.
    await store.models.OutboxMark.deleteMany({}).exec();
    const sent = events.filter((_, i) => i % 3 !== 1); // #2, #5, #8, #11 never reached Kafka
    await producer.send(audit.names.eventsTopic, sent.map((e) => eventRecord(e)));
    await eventually('the sent events in the log', () => postedIn(sent.length));
    // A message too young to judge stays with the normal path.
    const young = await storeMessage(room, 13, new Date());
    await store.models.OutboxMark.deleteMany({}).exec();

    const report = await audit.reconcile({ settleMs: 60_000 });
    expect(report.republished.map((e) => e.id).sort()).toEqual(events.filter((_, i) => i % 3 === 1).map((e) => e.id).sort());
    expect(report.checked).toBe(12);
    await eventually('every settled message in the log', () => postedIn(12));

    // Nothing twice, the chain intact, and the next run costs only what is new.
    const v = new ChainVerifier(await store.audit.allChainHeads());
    for await (const d of store.audit.chainedCursor()) expect(v.push(toStoredChainEntry(d)!)).toBeUndefined();
    expect(v.finish()).toBeUndefined();
    expect(v.entries).toBeGreaterThanOrEqual(12);
    const again = await audit.reconcile({ settleMs: 1 });
    expect(again.republished.map((e) => e.id)).toEqual([young.id]);
    expect(again.checked).toBe(12); // from #2 on: #2's event was missing, so the checkpoint stayed at #1
    await eventually('the young message in the log', () => postedIn(13));
    const last = await audit.reconcile({ settleMs: 1 });
    expect([last.checked, last.republished.length]).toEqual([1, 0]); // #13 confirmed; the checkpoint is now at the end

    const metrics = await (await fetch(`http://127.0.0.1:${audit.port}/metrics`)).text();
    expect(metrics).toContain('conversa_audit_reconcile_republished_total{service="audit"} 5');
    expect(metrics).toContain('conversa_audit_reconcile_runs_total{outcome="ok",service="audit"} 3');
  });
});
