/**
 * The hash-chained audit log writer against a real MongoDB-wire server (FerretDB locally):
 * appending, redelivery, a crash between the entries and the head record, two writers racing
 * for one chain. Each test has a database of its own (`it_<uuid8>`), dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChainVerifier, linkEntries, newEvent, EMPTY_HEAD, type ChainBreak } from '@conversa/contracts';
import { openStore, type Store, auditHashFields, toStoredChainEntry, type AuditDoc } from '@conversa/store';
import { toAuditEntry } from './audit-entry.js';
import { AuditLogWriter } from './audit-log.js';

const MONGO_URL = process.env.MONGO_URL ?? 'mongodb://127.0.0.1:27017';
const uuid8 = () => randomUUID().slice(0, 8);

let store: Store;
beforeEach(async () => {
  store = await openStore({ url: MONGO_URL, dbName: `it_${uuid8()}` });
  await store.ensureIndexes();
});
afterEach(async () => {
  await store.dropDatabase();
  await store.close();
});

const recordedAt = new Date('2026-01-01T00:00:00.000Z');
const joined = (room: string, user: string): AuditDoc =>
  toAuditEntry(newEvent('room.joined', room, user, { room, user }, new Date(recordedAt.getTime() + Math.floor(Math.random() * 1_000))), recordedAt);

/** Verifies every chain as `conversa audit verify` does. */
async function verify(): Promise<{ ok: true; entries: number; chains: number } | ChainBreak> {
  const v = new ChainVerifier(await store.audit.allChainHeads());
  for await (const d of store.audit.chainedCursor()) {
    const broken = v.push(toStoredChainEntry(d)!);
    if (broken) return broken;
  }
  return v.finish() ?? { ok: true, entries: v.entries, chains: v.chains };
}

const seqsOf = async (chain: string) =>
  (await store.models.Audit.find({ chain }).sort({ chainSeq: 1 }).lean<AuditDoc[]>().exec()).map((d) => d.chainSeq);

describe('AuditLogWriter', () => {
  it('chains each key on its own, once per event, and the chains verify', async () => {
    const w = new AuditLogWriter(store.audit);
    const batch = [joined('a', 'u1'), joined('b', 'u1'), joined('a', 'u2'), joined('a', 'u3')];
    expect(await w.append(batch)).toEqual({ appended: 4, duplicates: 0 });
    expect(await seqsOf('a')).toEqual([1, 2, 3]);
    expect(await seqsOf('b')).toEqual([1]);
    // A redelivered batch (with one new event) appends only the new one.
    const next = joined('b', 'u9');
    expect(await w.append([...batch, next, next])).toEqual({ appended: 1, duplicates: 5 });
    expect(await seqsOf('b')).toEqual([1, 2]);
    expect(await verify()).toEqual({ ok: true, entries: 5, chains: 2 });
    expect((await store.audit.chainHeads(['a', 'b'])).get('a')?.seq).toBe(3);
  });

  it('repairs a head left behind by a crash between the entries and the head record', async () => {
    const w = new AuditLogWriter(store.audit);
    await w.append([joined('r', 'u1')]);
    // The crash: two more entries went in, linked after the head, but the head never moved.
    const crashed = [joined('r', 'u2'), joined('r', 'u3')];
    const head = (await store.audit.chainHeads(['r'])).get('r')!;
    const { linked } = linkEntries(head, crashed.map(auditHashFields));
    await store.audit.insertChained(crashed.map((c, i) => ({ ...c, chainSeq: linked[i]!.chainSeq, prevHash: linked[i]!.prevHash, hash: linked[i]!.hash })));
    expect((await store.audit.chainHeads(['r'])).get('r')?.seq).toBe(1);
    // The uncommitted batch comes again, with a new event.
    expect(await w.append([...crashed, joined('r', 'u4')])).toEqual({ appended: 1, duplicates: 2 });
    expect(await seqsOf('r')).toEqual([1, 2, 3, 4]);
    expect(await verify()).toMatchObject({ ok: true, entries: 4 });
    expect((await store.audit.chainHeads(['r'])).get('r')?.seq).toBe(4);
  });

  it('lets two writers race for one chain without forking it (the unique chain position decides)', async () => {
    const other = await openStore({ url: MONGO_URL, dbName: store.connection.name });
    try {
      const a = new AuditLogWriter(store.audit, 20);
      const b = new AuditLogWriter(other.audit, 20);
      const results = await Promise.all([
        a.append([joined('x', 'a1'), joined('x', 'a2')]),
        b.append([joined('x', 'b1'), joined('x', 'b2')]),
        a.append([joined('x', 'a3')]),
        b.append([joined('x', 'b3')]),
      ]);
      expect(results.reduce((n, r) => n + r.appended, 0)).toBe(6);
      expect(await seqsOf('x')).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await verify()).toMatchObject({ ok: true, entries: 6, chains: 1 });
    } finally {
      await other.close();
    }
  });

  it('a writer whose remembered head went stale (another writer appended meanwhile) links after the real tail', async () => {
    const other = await openStore({ url: MONGO_URL, dbName: store.connection.name });
    try {
      const a = new AuditLogWriter(store.audit);
      const b = new AuditLogWriter(other.audit);
      await a.append([joined('y', 'a1')]); // a remembers head 1
      await b.append([joined('y', 'b1'), joined('y', 'b2')]); // the chain is at 3 now (a rebalance, say)
      expect(await a.append([joined('y', 'a2')])).toEqual({ appended: 1, duplicates: 0 });
      expect(await seqsOf('y')).toEqual([1, 2, 3, 4]);
      expect(await verify()).toMatchObject({ ok: true, entries: 4, chains: 1 });
      expect((await store.audit.chainHeads(['y'])).get('y')?.seq).toBe(4);
      // And it goes on from the head it wrote, without reading it.
      await a.append([joined('y', 'a3')]);
      expect(await seqsOf('y')).toEqual([1, 2, 3, 4, 5]);
    } finally {
      await other.close();
    }
  });

  it('gives verify the first altered entry, a removed one, and a cut-off tail', async () => {
    const w = new AuditLogWriter(store.audit);
    const batch = [joined('v', 'u1'), joined('v', 'u2'), joined('v', 'u3'), joined('v', 'u4')];
    await w.append(batch);
    await store.models.Audit.updateOne({ _id: batch[1]!._id }, { $set: { 'data.user': 'mallory' } }).exec();
    expect(await verify()).toMatchObject({ chain: 'v', seq: 2, eventId: batch[1]!._id, problem: expect.stringMatching(/altered/) });
    await store.models.Audit.deleteOne({ _id: batch[1]!._id }).exec();
    expect(await verify()).toMatchObject({ chain: 'v', seq: 2, eventId: null, problem: expect.stringMatching(/missing/) });
    await store.models.Audit.deleteMany({ _id: { $in: [batch[1]!._id, batch[2]!._id, batch[3]!._id] } }).exec();
    expect(await verify()).toMatchObject({ chain: 'v', seq: 2, problem: expect.stringMatching(/missing at the end/) });
    expect(EMPTY_HEAD.seq).toBe(0);
  });
});
