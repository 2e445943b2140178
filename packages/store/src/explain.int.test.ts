/**
 * Every query the store runs on a hot path is served by an index on FerretDB's PostgreSQL
 * backend, not by a scan whose cost grows with the data (issue 13).
 *
 * How: the store runs each hot query against a database of its own with thousands of
 * documents per collection; the test records the MongoDB commands the store sent, derives
 * from each filter what FerretDB 1.24 pushes down to PostgreSQL (top-level equality on
 * scalars and `$eq`, as `_jsonb->$k @> $v`: internal/backends/postgresql/query.go), builds the
 * very SELECT FerretDB sends, checks against pg_stat_statements that FerretDB did send it,
 * and has PostgreSQL EXPLAIN it as a prepared statement run a few times (as FerretDB runs its
 * cached statements, so the plan cache's choice is what is checked). A Seq Scan of a growing
 * table fails the test. FerretDB's own UPDATE and DELETE statements (by `_id`, after that
 * SELECT) are EXPLAINed the same way.
 *
 * On real MongoDB (compose) there is no PostgreSQL below: the suite sees that from
 * `buildInfo` and does not run.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newEvent, type DomainEvent } from '@conversa/contracts';
import type {
  AuditDoc,
  MembershipDoc,
  MentionDoc,
  MessageDoc,
  ReactionDoc,
  ReadStateDoc,
  RoomActivityDoc,
  ModerationActionDoc,
  MuteDoc,
  PinDoc,
  RoomDoc,
  UserDoc,
} from './models.js';
import { messageId } from './messages.js';
import { openStore } from './store.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
/** FerretDB's PostgreSQL (infra/local/infra.sh: role conversa, database ferretdb). */
const PG_URL =
  process.env.FERRETDB_POSTGRES_URL ??
  `postgres://conversa@127.0.0.1:${process.env.POSTGRES_PORT ?? '54329'}/ferretdb`;
/** Rows per growing collection: enough that PostgreSQL's planner prefers an index when one fits. */
const ROWS = 3_000;
/**
 * Collections that stay small by design: outbox_marks holds only marks not yet published
 * (the relay deletes each once its event is on Kafka), so scanning it costs the backlog, not
 * the history.
 */
const BOUNDED = new Set(['outbox_marks']);

interface Sent {
  collection: string;
  filter: Record<string, unknown>;
}

const dbName = `it_${randomUUID().slice(0, 8)}`;
const sent: Sent[] = [];
// Command monitoring is on only with onError; the store's own error hook is not under test.
const store = await openStore({ url: MONGO_URL, dbName, onError: () => undefined });
const onFerretdb = store.backend === 'ferretdb';

store.connection.getClient().on('commandStarted', (e) => {
  const c = e.command as Record<string, unknown>;
  const collection = c[e.commandName];
  if (typeof collection !== 'string') return;
  const filters: unknown[] = [];
  if (e.commandName === 'find') filters.push(c.filter ?? {});
  if (e.commandName === 'findAndModify') filters.push(c.query ?? {});
  if (e.commandName === 'count') filters.push(c.query ?? {});
  if (e.commandName === 'update') for (const u of c.updates as { q: unknown }[]) filters.push(u.q);
  if (e.commandName === 'delete') for (const d of c.deletes as { q: unknown }[]) filters.push(d.q);
  for (const filter of filters)
    sent.push({ collection, filter: filter as Record<string, unknown> });
});

afterAll(async () => {
  await store.dropDatabase();
  await store.close();
});

/** A value as FerretDB's sjson writes it into `_jsonb`, for the scalars it pushes down. */
function pushedValue(v: unknown): string | undefined {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= Number.MAX_SAFE_INTEGER)
    return String(v);
  if (v instanceof Date) return String(v.getTime());
  return undefined; // null, arrays, documents, ObjectIds, regexes: not pushed down (or not used here)
}

/** What FerretDB 1.24 pushes down of a filter: [field, jsonb value] pairs, in filter order. */
function pushdown(filter: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (key.startsWith('$') || key.includes('.')) continue; // $or, $and …: never; dotted paths: unused
    const isOperators =
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Date) &&
      !Array.isArray(value);
    const scalar = isOperators ? (value as Record<string, unknown>).$eq : value;
    const json = pushedValue(scalar);
    if (json !== undefined) out.push([key, json]);
  }
  return out;
}

const lit = (s: string) => `'${s.replaceAll("'", "''")}'`;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (p: PlanNode): PlanNode[] => [p, ...(p.Plans ?? []).flatMap(nodes)];
const describePlan = (p: PlanNode): string =>
  nodes(p)
    .map(
      (n) =>
        `${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}${n['Index Name'] ? ` using ${n['Index Name']}` : ''}`,
    )
    .join(' > ');

const joined = (u: string, r: string): DomainEvent =>
  newEvent('room.joined', r, u, { room: r, user: u });

async function seed(): Promise<void> {
  const at = (i: number) => new Date(Date.UTC(2026, 0, 1) + i * 1_000);
  const batches = async <T>(rows: T[], insert: (b: T[]) => Promise<unknown>) => {
    for (let i = 0; i < rows.length; i += 1_000) await insert(rows.slice(i, i + 1_000));
  };
  const n = Array.from({ length: ROWS }, (_, i) => i);
  const db = store.connection.db;
  if (!db) throw new Error('not connected');
  // Straight into the collections the store's models use, in the shape the store writes.
  const into = (model: { collection: { collectionName: string } }) => (rows: { _id: string }[]) =>
    db.collection<{ _id: string }>(model.collection.collectionName).insertMany(rows);
  const m = store.models;
  await batches(
    n.map((i): UserDoc => ({
      _id: `u${i}`,
      username: `user${i}`,
      displayName: `U${i}`,
      role: 'USER',
      passwordHash: 'x',
      createdAt: at(i),
      outbox: [],
      outboxPending: false,
    })),
    into(m.User),
  );
  // Mostly direct rooms, as a grown system has: listing the public ones is then selective.
  await batches(
    n.map((i): RoomDoc => {
      const pub = i < 20;
      return {
        _id: pub ? `pub${i}` : `dm${i}`,
        name: `r${i}`,
        kind: pub ? 'PUBLIC' : 'DIRECT',
        pair: pub ? [] : [`u${i}`, `u${(i + 1) % ROWS}`],
        createdAt: at(i),
        outbox: [],
        outboxPending: false,
      };
    }),
    into(m.Room),
  );
  await batches(
    n.map((i): MembershipDoc => ({
      _id: `pub${i % 20}/u${i}`,
      room: `pub${i % 20}`,
      user: `u${i}`,
      active: true,
      joinedAt: at(i),
      outbox: [],
      outboxPending: false,
    })),
    into(m.Membership),
  );
  // Room pub0 has ROWS messages, seq 1..ROWS; others have a few.
  await batches(
    n.map((i): MessageDoc => ({
      _id: messageId('pub0', i + 1),
      room: 'pub0',
      seq: i + 1,
      authorId: `u${i % 50}`,
      body: `m${i}`,
      status: 'VISIBLE',
      clientMsgId: `c${i}`,
      createdAt: at(i),
      editedAt: null,
      posted: null,
      // Every tenth message replies to the message before it (threads of one reply).
      parentId: i % 10 === 9 ? messageId('pub0', i) : null,
      outbox: [],
      outboxPending: false,
    })),
    into(m.Message),
  );
  // Reactions spread over the first 300 messages, ten each.
  await batches(
    n.map((i): ReactionDoc => ({
      _id: `${messageId('pub0', (i % 300) + 1)}/👍/u${i}`,
      message: messageId('pub0', (i % 300) + 1),
      room: 'pub0',
      emoji: '👍',
      user: `u${i}`,
      active: true,
      at: at(i),
      outbox: [],
      outboxPending: false,
    })),
    into(m.Reaction),
  );
  await batches(
    n.map((i): AuditDoc => ({
      _id: `e${i}`,
      type: 'room.joined',
      version: 1,
      room: `pub${i % 20}`,
      actor: `u${i}`,
      key: `pub${i % 20}`,
      at: at(i),
      data: {},
      recordedAt: at(i),
      chain: `pub${i % 20}`,
      chainSeq: Math.floor(i / 20) + 1,
      prevHash: 'p',
      hash: `h${i}`,
    })),
    into(m.Audit),
  );
  await batches(
    n.map((i) => ({ _id: `chain${i}`, seq: 1, hash: 'h', updatedAt: at(i) })),
    into(m.AuditChain),
  );
  await batches(
    n.map((i): MuteDoc => ({
      _id: `u${i}/pub${i % 20}`,
      user: `u${i}`,
      room: `pub${i % 20}`,
      until: null,
      action: `a${i}`,
      reason: 'r',
      at: at(i),
    })),
    into(m.Mute),
  );
  await batches(
    n.map((i): ModerationActionDoc => ({
      _id: `a${i}`,
      kind: 'mute',
      target: `u${i}`,
      room: null,
      reason: 'r',
      rule: null,
      by: null,
      at: at(i),
      until: null,
      outbox: [],
      outboxPending: false,
    })),
    into(m.ModerationAction),
  );
  await batches(
    n.map((i): RoomActivityDoc => ({
      _id: i < 20 ? `pub${i}` : `dm${i}`,
      lastSeq: i < 1 ? ROWS : 3,
      lastAt: at(i),
      last: null,
      gone: [],
      roomMentions: [],
    })),
    into(m.RoomActivity),
  );
  await batches(
    n.map((i): ReadStateDoc => ({ _id: `pub${i % 20}/u${i}`, room: `pub${i % 20}`, user: `u${i}`, lastReadSeq: 1, at: at(i) })),
    into(m.ReadState),
  );
  await batches(
    n.map((i): MentionDoc => ({ _id: `pub0/${i + 1}/u${i % 100}`, room: 'pub0', seq: i + 1, user: `u${i % 100}` })),
    into(m.Mention),
  );
  // A few pins in pub0, one in each direct room: the collection grows with the rooms.
  await batches(
    n.map((i): PinDoc => (i < 3 ? { _id: messageId('pub0', i + 1), room: 'pub0', at: at(i), by: 'u1' } : { _id: `dm${i}:1`, room: `dm${i}`, at: at(i), by: `u${i}` })),
    into(m.Pin),
  );
}

/** The hot queries, each run through the store: what a send, a join, a page, the relay and the audit consumer do. */
const HOT: [string, () => Promise<unknown>][] = [
  ['findUserById', () => store.users.findById('u17')],
  ['findUserByUsername (login, register)', () => store.users.findByUsername('user17')],
  ['findUsersByIds (authors of a page)', () => store.users.findByIds(['u1', 'u2', 'u3'])],
  [
    'renameUser',
    () =>
      store.users.rename(
        'u18',
        'Eighteen',
        newEvent('room.joined', 'u18', 'u18', { room: 'x', user: 'u18' }),
      ),
  ],
  ['findRoom', () => store.rooms.findById('pub3')],
  ['listPublicRooms (rooms)', () => store.rooms.listPublic()],
  ['listDirectRooms', () => store.rooms.listDirect('u40')],
  ['setMembership: join', () => store.rooms.setMembership('pub5', 'u1', true, joined('u1', 'pub5'))],
  ['setMembership: leave', () => store.rooms.setMembership('pub5', 'u1', false, joined('u1', 'pub5'))],
  ['isMember', () => store.rooms.isMember('pub1', 'u21')],
  ['memberIds (fan-out)', () => store.rooms.memberIds('pub2')],
  ['lastSeq (send: next seq)', () => store.messages.lastSeq('pub0', ROWS - 3)],
  ['messagePage (newest)', () => store.messages.page('pub0', { limit: 50 })],
  ['messagePage (before)', () => store.messages.page('pub0', { before: 1_500, limit: 50 })],
  ['messagesBetween (gap fill)', () => store.messages.between('pub0', 100, 110)],
  ['findMessage', () => store.messages.findById(messageId('pub0', 7))],
  ['findMessageByClientId (retried send)', () => store.messages.findByClientId('u7', 'c7')],
  [
    'updateMessage (edit)',
    () =>
      store.messages.update(
        messageId('pub0', 8),
        ['VISIBLE'],
        { body: 'edited', editedAt: new Date() },
        joined('u8', 'pub0'),
      ),
  ],
  [
    'insertMessage + relay (pendingOutbox, markAllPublished)',
    async () => {
      const posted = joined('u9', 'pub0');
      await store.messages.insert({
        room: 'pub0',
        seq: ROWS + 1,
        authorId: 'u9',
        body: 'new',
        status: 'VISIBLE',
        clientMsgId: 'fresh',
        createdAt: new Date(),
        editedAt: null,
        posted,
        outbox: [],
      });
      await store.outbox.markAllPublished(await store.outbox.pending(100));
    },
  ],
  ['auditEntriesByIds (audit batch)', () => store.audit.entriesByIds(['e1', 'e2', 'e3', 'missing'])],
  ['chainHeads (audit batch)', () => store.audit.chainHeads(['chain1', 'chain2'])],
  ['setChainHead', () => store.audit.setChainHead('chain3', { seq: 2, hash: 'h2' })],
  ['auditPage of a room', () => store.audit.page({ room: 'pub4', limit: 50 })],
  ['mutesFor (send check)', () => store.moderation.mutesFor('u5', 'pub5')],
  ['findMute', () => store.moderation.findMute('u6/pub6')],
  [
    'putMute',
    () =>
      store.moderation.putMute({
        _id: 'u7/pub7',
        user: 'u7',
        room: 'pub7',
        until: null,
        action: 'a7b',
        reason: 'r',
        at: new Date(),
      }),
  ],
  ['removeMute', () => store.moderation.removeMute('u7/pub7', 'a7b')],
  ['roomIdsOf (inbox)', () => store.rooms.roomIdsOf('u33')],
  ['roomActivity (markRead)', () => store.readState.activity('pub3')],
  ['roomActivities (inbox)', () => store.readState.activities(['pub1', 'pub2', 'dm40'])],
  ['readPositionsOf (inbox)', () => store.readState.positionsOf('u34')],
  ['readPosition (a room\'s counts)', () => store.readState.position('pub1', 'u21')],
  ['advanceReadPosition (send, markRead)', () => store.readState.advance('pub2', 'u22', 2)],
  ['mentionsOf (counts)', () => store.readState.mentionsOf('u7')],
  ['readMentions (markRead)', () => store.readState.readMentions('pub0', 'u7', 500)],
  ['mentionedRoom (send)', () => store.readState.mentionedRoom('pub4', 2)],
  [
    'activity changed (hide, delete)',
    () =>
      store.readState.changed({
        _id: messageId('pub0', 9),
        room: 'pub0',
        seq: 9,
        authorId: 'u9',
        body: '',
        status: 'HIDDEN',
        clientMsgId: 'c9',
        createdAt: new Date(),
        editedAt: null,
      }),
  ],
  ['threadReplies (thread page, recount)', () => store.messages.threadPage(messageId('pub0', 9), { limit: 50 })],
  ['recountThread (reply, hide)', () => store.messages.recountThread(messageId('pub0', 9))],
  ['reactionsOf (recount, emoji limit)', () => store.reactions.of(messageId('pub0', 5))],
  ['hasReaction (reactedByMe beyond the kept users)', () => store.reactions.has(messageId('pub0', 5), '👍', 'u4')],
  ['react (a batch of one new reaction, summary extended)', () => store.reactions.apply(messageId('pub0', 7), [{ kind: 'add', emoji: '🎉', user: 'u6', room: 'pub0', event: joined('u6', 'pub0') }], { max: 20, now: () => new Date() })],
  [
    'react again after taking it back',
    async () => {
      const m = messageId('pub0', 6);
      const opts = { max: 20, now: () => new Date() };
      await store.reactions.apply(m, [{ kind: 'remove', emoji: '👍', user: 'u5', event: joined('u5', 'pub0') }], opts);
      await store.reactions.apply(m, [{ kind: 'add', emoji: '👍', user: 'u5', room: 'pub0', event: joined('u5', 'pub0') }], opts);
    },
  ],
  ['pinnedMessages (a room\'s pins)', () => store.pins.pinnedMessages('pub0')],
  [
    'pinMessage',
    () =>
      store.pins.pin(
        { id: messageId('pub0', 10), room: 'pub0', by: 'u1', at: new Date(), limit: 50 },
        joined('u1', 'pub0'),
      ),
  ],
  ['unpinMessage', () => store.pins.unpin({ id: messageId('pub0', 10), room: 'pub0' }, joined('u1', 'pub0'))],
  ['findModerationAction', () => store.moderation.findAction('a9')],
  [
    'moderationActionsPage of a target',
    () => store.moderation.actionsPage({ target: 'u9', limit: 20 }),
  ],
];

describe.runIf(onFerretdb)('hot queries on FerretDB over PostgreSQL', () => {
  const client = new pg.Client({ connectionString: PG_URL });
  /** collection → FerretDB's table for it. */
  const tables = new Map<string, string>();
  const ran: { name: string; sent: Sent[] }[] = [];

  beforeAll(async () => {
    await client.connect().catch((e: unknown) => {
      throw new Error(
        `the server is FerretDB, but its PostgreSQL at ${PG_URL} does not answer (set FERRETDB_POSTGRES_URL): ${String(e)}`,
      );
    });
    await store.ensureIndexes();
    await seed();
    const meta = await client.query<{ coll: string; tbl: string }>(
      `SELECT _jsonb->>'_id' AS coll, _jsonb->>'table' AS tbl FROM ${pg.escapeIdentifier(dbName)}._ferretdb_database_metadata`,
    );
    for (const r of meta.rows) tables.set(r.coll, r.tbl);
    // Statistics as autovacuum would have them by now on a database that grew to this size.
    for (const t of tables.values())
      await client.query(`ANALYZE ${pg.escapeIdentifier(dbName)}.${pg.escapeIdentifier(t)}`);
    for (const [name, run] of HOT) {
      sent.length = 0;
      await run();
      ran.push({ name, sent: [...sent] });
    }
  }, 120_000);

  afterAll(async () => {
    await client.end();
  });

  /** Plans of a statement prepared and executed as FerretDB's cached statements are. */
  let stmt = 0;
  async function planOf(sql: string, types: string[], values: string[]): Promise<PlanNode> {
    const name = `conversa_explain_${++stmt}`;
    await client.query(
      `PREPARE ${name}${types.length > 0 ? ` (${types.join(', ')})` : ''} AS ${sql}`,
    );
    try {
      const args = values.length > 0 ? `(${values.map(lit).join(', ')})` : '';
      // Past the fifth execution PostgreSQL may switch a prepared statement to a generic plan,
      // which cannot match `_jsonb->$1` to an index on `_jsonb->'field'`: check what it settles on.
      // Rolled back: the UPDATEs and DELETEs checked below run too.
      await client.query('BEGIN');
      try {
        for (let i = 0; i < 6; i++) await client.query(`EXECUTE ${name}${args}`);
      } finally {
        await client.query('ROLLBACK');
      }
      const res = await client.query<{ 'QUERY PLAN': { Plan: PlanNode }[] }>(
        `EXPLAIN (FORMAT JSON) EXECUTE ${name}${args}`,
      );
      return res.rows[0]!['QUERY PLAN'][0]!.Plan;
    } finally {
      await client.query(`DEALLOCATE ${name}`);
    }
  }

  const growing = (collection: string) => !BOUNDED.has(collection);

  it('every hot query sent a filter FerretDB can push down', () => {
    const unfiltered = ran.flatMap(({ name, sent: s }) =>
      s
        .filter((x) => growing(x.collection) && pushdown(x.filter).length === 0)
        .map((x) => `${name}: ${x.collection} ${JSON.stringify(x.filter)}`),
    );
    expect(ran.every((r) => r.sent.length > 0)).toBe(true);
    expect(unfiltered, 'these filters reach PostgreSQL as a full read of the collection').toEqual(
      [],
    );
  });

  it('PostgreSQL serves each pushed-down SELECT from an index, and FerretDB sent exactly that SELECT', async () => {
    const scans: string[] = [];
    const wanted = new Set<string>();
    const schema = pg.escapeIdentifier(dbName);
    for (const { name, sent: s } of ran) {
      for (const { collection, filter } of s) {
        const table = tables.get(collection);
        if (!table) throw new Error(`no FerretDB table for collection ${collection}`);
        const pairs = pushdown(filter);
        const where = pairs.map((_, i) => `_jsonb->$${2 * i + 1} @> $${2 * i + 2}`).join(' AND ');
        const sql = `SELECT  _jsonb FROM ${schema}.${pg.escapeIdentifier(table)}${where ? ` WHERE ${where}` : ''}`;
        wanted.add(sql);
        const plan = await planOf(
          sql,
          pairs.flatMap(() => ['text', 'jsonb']),
          pairs.flat(),
        );
        const seq = nodes(plan).some(
          (n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === table,
        );
        if (seq && growing(collection))
          scans.push(`${name}: ${collection} ${JSON.stringify(filter)} → ${describePlan(plan)}`);
      }
    }
    expect(scans, 'hot queries that scan a growing table').toEqual([]);

    // The reconstruction is FerretDB's real statement text (pg_stat_statements, where installed).
    const hasStats = await client.query(
      `SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'`,
    );
    if (hasStats.rowCount === 0) return;
    const seen = await client.query<{ query: string }>(
      `SELECT query FROM pg_stat_statements WHERE query LIKE $1`,
      [`%${schema}.%`],
    );
    const texts = new Set(seen.rows.map((r) => r.query));
    expect(
      [...wanted].filter((w) => !texts.has(w)),
      'reconstructed SELECTs FerretDB never sent',
    ).toEqual([]);
  });

  it("PostgreSQL serves FerretDB's UPDATE and DELETE statements from an index", async () => {
    const schema = pg.escapeIdentifier(dbName);
    const seen = await client.query<{ query: string }>(
      `SELECT query FROM pg_stat_statements WHERE query LIKE $1 AND (query LIKE 'UPDATE%' OR query LIKE 'DELETE%')`,
      [`%${schema}.%`],
    );
    const scans: string[] = [];
    const checked: string[] = [];
    for (const { query } of seen.rows) {
      const table = [...tables.entries()].find(([, t]) =>
        query.includes(`${schema}.${pg.escapeIdentifier(t)}`),
      );
      if (!table || table[1].startsWith('_ferretdb_')) continue;
      // Parameter types as PostgreSQL infers them; EXPLAIN (without ANALYZE) runs nothing.
      const name = `conversa_dml_${++stmt}`;
      await client.query(`PREPARE ${name} AS ${query}`);
      const types = await client.query<{ t: string[] }>(
        `SELECT parameter_types::text[] AS t FROM pg_prepared_statements WHERE name = $1`,
        [name],
      );
      await client.query(`DEALLOCATE ${name}`);
      const ts = types.rows[0]?.t ?? [];
      const values = ts.map((t) =>
        t === 'text' ? '_id' : t === 'jsonb' ? '"pub0:1"' : '{"pub0:1"}',
      );
      const plan = await planOf(query, ts, values);
      checked.push(query);
      if (
        nodes(plan).some((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === table[1]) &&
        growing(table[0])
      ) {
        scans.push(`${query} → ${describePlan(plan)}`);
      }
    }
    expect(checked.length).toBeGreaterThan(0);
    expect(scans, 'updates and deletes that scan a growing table').toEqual([]);
  });
});
