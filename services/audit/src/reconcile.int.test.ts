/**
 * The audit reconciliation against real Kafka and FerretDB, in a namespace of its own: stored
 * messages whose `message.posted` events never reached Kafka (their outbox marks gone, as when
 * the relay believed them published) are found, handed back to the events topic, appended by
 * the audit consumer to their chain once each, and the chains still verify.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChainVerifier, eventRecord, newEvent, type DomainEvent, type MessageView } from '@conversa/contracts';
import { loadConfig } from '@conversa/config';
import { KafkaAdapter, type EventProducer } from '@conversa/kafka';
import { createLogger } from '@conversa/observability';
import { Store, toStoredChainEntry } from '@conversa/store';
import { createAudit, type AuditService } from './audit.js';

const uuid8 = () => randomUUID().slice(0, 8);
const logger = createLogger('reconcile-it', 'silent');

async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
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
  AUDIT_RECONCILE_INTERVAL_MS: '0',
  MONGO_URL: process.env.MONGO_URL,
  KAFKA_BROKERS: process.env.KAFKA_BROKERS,
  LOG_LEVEL: 'silent',
});

let audit: AuditService;
let kafka: KafkaAdapter;
let producer: EventProducer;
let store: Store;
const author = { id: 'u-ann', username: 'ann', displayName: 'Ann', role: 'USER' as const };
const room = `r-${uuid8()}`;

/** Stores message `seq` of the room with its posted event, as the chat worker does; returns the event. */
async function storeMessage(seq: number, createdAt: Date): Promise<DomainEvent> {
  const message: MessageView = { id: `${room}:${seq}`, room, seq, author, body: `#${seq}`, status: 'VISIBLE', clientMsgId: `c${seq}`, createdAt: createdAt.toISOString(), editedAt: null };
  const posted = newEvent('message.posted', room, author.id, { message });
  await store.insertMessage({ room, seq, authorId: author.id, body: `#${seq}`, status: 'VISIBLE', clientMsgId: `c${seq}`, createdAt, editedAt: null, outbox: [], posted });
  return posted;
}

beforeAll(async () => {
  audit = await createAudit(config, logger);
  await audit.start();
  kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: `it-reconcile-${uuid8()}`, logger });
  producer = await kafka.producer();
  store = await Store.connect({ url: config.MONGO_URL, dbName: config.MONGO_DB });
  await store.ensureRoom({ _id: room, name: room, kind: 'PUBLIC', pair: [], createdAt: new Date(), outbox: [] });
});

afterAll(async () => {
  await audit?.stop();
  await producer?.close();
  await store?.dropDatabase();
  await store?.close();
  await kafka?.deleteTopics([audit.names.eventsTopic, audit.names.moderationTopic, audit.names.deadLetterTopic]).catch(() => undefined);
  await kafka?.close();
});

describe('audit reconciliation', () => {
  it('appends the events of stored messages that never reached Kafka, once each, and the chains verify', async () => {
    const old = new Date(Date.now() - 10 * 60_000);
    const events: DomainEvent[] = [];
    for (let seq = 1; seq <= 12; seq++) events.push(await storeMessage(seq, old));
    // What the relay is believed to have published: all marks gone, but only some events sent.
    await store.models.OutboxMark.deleteMany({}).exec();
    const sent = events.filter((_, i) => i % 3 !== 1); // #2, #5, #8, #11 never reached Kafka
    await producer.send(audit.names.eventsTopic, sent.map((e) => eventRecord(e)));
    await eventually('the sent events in the log', async () => ((await store.countAudit({ type: 'message.posted' })) === sent.length ? true : undefined));
    // A message too young to judge stays with the normal path.
    const young = await storeMessage(13, new Date());
    await store.models.OutboxMark.deleteMany({}).exec();

    const report = await audit.reconcile({ settleMs: 60_000 });
    expect(report.republished.map((e) => e.id).sort()).toEqual(events.filter((_, i) => i % 3 === 1).map((e) => e.id).sort());
    expect(report.checked).toBe(12);
    await eventually('every settled message in the log', async () => ((await store.countAudit({ type: 'message.posted' })) === 12 ? true : undefined));

    // Nothing twice, the chain intact, and the next run costs only what is new.
    const v = new ChainVerifier(await store.allChainHeads());
    for await (const d of store.chainedAuditCursor()) expect(v.push(toStoredChainEntry(d)!)).toBeUndefined();
    expect(v.finish()).toBeUndefined();
    expect(v.entries).toBe(12);
    const again = await audit.reconcile({ settleMs: 1 });
    expect(again.republished.map((e) => e.id)).toEqual([young.id]);
    expect(again.checked).toBe(12); // from #2 on: #2's event was missing, so the checkpoint stayed at #1
    await eventually('the young message in the log', async () => ((await store.countAudit({ type: 'message.posted' })) === 13 ? true : undefined));
    const last = await audit.reconcile({ settleMs: 1 });
    expect([last.checked, last.republished.length]).toEqual([1, 0]); // #13 confirmed; the checkpoint is now at the end

    const metrics = await (await fetch(`http://127.0.0.1:${audit.port}/metrics`)).text();
    expect(metrics).toContain('conversa_audit_reconcile_republished_total{service="audit"} 5');
    expect(metrics).toContain('conversa_audit_reconcile_runs_total{outcome="ok",service="audit"} 3');
  });
});
