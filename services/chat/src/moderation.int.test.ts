/**
 * Moderation in the chat service as main.ts builds it (createChat), against real Kafka, Redis
 * and FerretDB, in a namespace of its own (`it-<uuid8>`: topics, consumer groups, BullMQ
 * prefix, database), removed afterwards: actions from the moderation topic are applied, mutes
 * refuse sends and end by themselves through BullMQ delayed jobs, also across a restart, and
 * what cannot be applied is dead-lettered.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import {
  MODERATION_ACTION_VERSION,
  RoomSignal,
  type CommandResult,
  type CommandType,
  type ModerationAction,
} from '@conversa/contracts';
import { loadConfig } from '@conversa/config';
import { KafkaAdapter, type EventProducer, type Follower, type IncomingRecord } from '@conversa/kafka';
import { createLogger } from '@conversa/observability';
import { openStore, type Store } from '@conversa/store';
import { createChat, type ChatService } from './chat.js';
import { CommandExecutor } from './commands.js';

const uuid8 = () => randomUUID().slice(0, 8);
const logger = createLogger('chat-it', 'silent');
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo';

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
  CHAT_PORT: '0',
  KAFKA_PARTITIONS: '2',
  MONGO_URL: process.env.MONGO_URL,
  REDIS_URL: process.env.REDIS_URL,
  KAFKA_BROKERS: process.env.KAFKA_BROKERS,
  LOG_LEVEL: 'silent',
});

let chat: ChatService;
let store: Store;
let direct: CommandExecutor;
let kafka: KafkaAdapter;
let producer: EventProducer;
let sub: Redis;
let redis: Redis;
const signals: RoomSignal[] = [];
const deadLetters: IncomingRecord[] = [];
let follower: Follower;
let ann: string;
let room: string;

function ok<T extends CommandType>(r: CommandResult<T>) {
  if (!r.ok) throw new Error(`${r.error.code}: ${r.error.message}`);
  return r.value;
}
const send = (body: string) =>
  direct.execute({ type: 'message.send', actor: ann, room, body, clientMsgId: randomUUID() }) as Promise<CommandResult<'message.send'>>;
const action = (over: Partial<ModerationAction> & Pick<ModerationAction, 'kind' | 'target'>): ModerationAction => ({
  id: randomUUID(),
  room,
  reason: 'a test',
  rule: 'test-rule',
  by: null,
  at: new Date().toISOString(),
  until: null,
  ...over,
});
const publish = (a: ModerationAction | string) =>
  producer.send(chat.names.moderationTopic, [
    {
      key: typeof a === 'string' ? 'x' : a.target,
      value: typeof a === 'string' ? a : JSON.stringify(a),
      headers: { 'action-version': String(MODERATION_ACTION_VERSION) },
    },
  ]);

beforeAll(async () => {
  chat = await createChat(config, logger);
  await chat.start();
  store = await openStore({ url: config.MONGO_URL, dbName: config.MONGO_DB });
  // Users, rooms and messages are written by an executor of the test's own (no relay needed).
  direct = new CommandExecutor({ store, publisher: { publish: () => Promise.resolve() }, logger });
  ann = ok((await direct.execute({ type: 'user.register', username: `ann${uuid8()}`, displayName: 'Ann', passwordHash: HASH })) as CommandResult<'user.register'>).user.id;
  room = ok((await direct.execute({ type: 'room.join', actor: ann, name: `street-${uuid8()}` })) as CommandResult<'room.join'>).room.id;
  kafka = new KafkaAdapter({ brokers: config.KAFKA_BROKERS, clientId: `it-chat-${uuid8()}`, logger });
  producer = await kafka.producer();
  follower = await kafka.follow({ topics: [chat.names.deadLetterTopic], groupPrefix: `${ns}-it`, fromBeginning: true }, (r) => void deadLetters.push(r));
  redis = new Redis(config.REDIS_URL);
  sub = new Redis(config.REDIS_URL);
  await sub.subscribe(chat.names.roomChannel(room));
  sub.on('message', (_channel, raw: string) => signals.push(RoomSignal.parse(JSON.parse(raw))));
});

afterAll(async () => {
  await follower?.stop();
  await chat?.stop();
  sub?.disconnect();
  const keys = await redis.keys(`${ns}:*`);
  if (keys.length > 0) await redis.del(...keys);
  redis?.disconnect();
  await producer?.close();
  await store?.dropDatabase();
  await store?.close();
  await kafka?.deleteTopics([chat.names.eventsTopic, chat.names.moderationTopic, chat.names.deadLetterTopic]).catch(() => undefined);
  await kafka?.close();
});

describe('chat applies moderation actions from Kafka', () => {
  it('hides a message: status HIDDEN, messageUpdated on the room channel, message.hidden and moderation.action in the outbox', async () => {
    const m = ok(await send('something rude')).message;
    const hide = action({ kind: 'hide', target: m.id });
    await publish(hide);
    const updated = await eventually('the message.updated signal', () =>
      signals.find((s) => s.kind === 'message.updated' && s.message.id === m.id),
    );
    expect(updated).toMatchObject({ message: { status: 'HIDDEN', body: '' } });
    const stored = await store.messages.findById(m.id);
    expect(stored).toMatchObject({ status: 'HIDDEN', body: 'something rude' });
    const recorded = await eventually('the recorded action', () => store.moderation.findAction(hide.id).then((d) => d ?? undefined));
    expect(recorded).toMatchObject({ kind: 'hide', target: m.id, rule: 'test-rule' });
    // Published by the relay to the events topic: the outbox empties.
    await eventually('the outbox relayed', async () => ((await store.outbox.countPending()) === 0 ? true : undefined));

    // The same action again (a redelivery) changes nothing and records nothing twice.
    await publish(hide);
    await publish(action({ kind: 'flag', target: m.id }));
    await eventually('the flag after it', async () => ((await store.moderation.actionsPage({ target: m.id, limit: 10 })).length === 2 ? true : undefined));
    expect(signals.filter((s) => s.kind === 'message.updated' && s.message.id === m.id)).toHaveLength(1);
  });

  it('mutes a person in a room with a reason and an end, and the mute ends by itself', async () => {
    const until = new Date(Date.now() + 2_500);
    const mute = action({ kind: 'mute', target: ann, until: until.toISOString(), reason: 'flooding' });
    await publish(mute);
    const refused = await eventually('the send to be refused', async () => {
      const r = await send('let me talk');
      return r.ok ? undefined : r.error;
    });
    expect(refused).toEqual({ code: 'FORBIDDEN', message: `you are muted in this room until ${until.toISOString()}: flooding` });
    // The delayed job lifts it and records the unmute; nobody waits on a clock here but the job.
    const unmute = await eventually('the unmute action', async () =>
      (await store.moderation.actionsPage({ target: ann, limit: 50 })).find((a) => a.kind === 'unmute' && a.rule === null && a.by === null),
    );
    expect(unmute).toMatchObject({ room, reason: 'the mute ended' });
    // The job records the unmute before it lifts the mute (a crash in between is retried), so
    // the lift itself is awaited, not assumed from the record.
    await eventually('the mute lifted', async () => ((await store.moderation.findMute(`${ann}/${room}`)) === null ? true : undefined));
    expect((await send('back again')).ok).toBe(true);
  });

  it('keeps a mute\'s end across a restart, even when Redis lost the delayed job', async () => {
    const until = new Date(Date.now() + 4_000);
    const mute = action({ kind: 'mute', target: ann, room: null, until: until.toISOString(), reason: 'spam' });
    await publish(mute);
    await eventually('the mute stored', () => store.moderation.findMute(`${ann}/*`).then((m) => m ?? undefined));
    const queue = new Queue(chat.names.moderationTimerQueue, { connection: redis, prefix: ns });
    await eventually('the delayed job', () => queue.getJob(`mute-end-${mute.id}`).then((j) => j ?? undefined));
    await chat.stop();
    // Redis loses the job while chat is down; the stored mute is what counts.
    await queue.remove(`mute-end-${mute.id}`);
    expect(await queue.getJob(`mute-end-${mute.id}`)).toBeUndefined();
    chat = await createChat(config, logger);
    await chat.start();
    expect(await queue.getJob(`mute-end-${mute.id}`)).toBeDefined(); // re-scheduled at start
    await queue.close();
    const r = await send('still muted?');
    expect(r.ok ? 'sent' : r.error.message).toBe(`you are muted everywhere until ${until.toISOString()}: spam`);
    await eventually('the mute lifted after the restart', async () => ((await store.moderation.findMute(`${ann}/*`)) === null ? true : undefined));
    expect((await send('free')).ok).toBe(true);
  });

  it('dead-letters a record that is not an action, and an action whose target does not exist', async () => {
    const before = deadLetters.length;
    await publish('{"kind":"explode"}');
    await publish(action({ kind: 'hide', target: 'no-such-message' }));
    const parked = await eventually('two dead letters', () => (deadLetters.length >= before + 2 ? deadLetters.slice(before) : undefined));
    expect(parked.map((r) => r.headers['dlq-consumer'])).toEqual([`${ns}-chat-moderation`, `${ns}-chat-moderation`]);
    // The two records may sit on different partitions: their order on the dead-letter topic is not theirs.
    const reasons = parked.map((r) => String(r.headers['dlq-reason'])).sort();
    expect(reasons[0]).toMatch(/^not a moderation action/);
    expect(reasons[1]).toMatch(/^target not found: id: no message "no-such-message"/);
    // And it goes on.
    const m = ok(await send('one more')).message;
    await publish(action({ kind: 'hide', target: m.id }));
    await eventually('the later hide applied', async () => ((await store.messages.findById(m.id))?.status === 'HIDDEN' ? true : undefined));
  });
});
