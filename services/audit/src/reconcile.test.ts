import { describe, expect, it } from 'vitest';
import { newEvent, type DomainEvent } from '@conversa/contracts';
import type { StoredPosted } from '@conversa/store';
import { assess, reconcile, type ReconcileDeps } from './reconcile.js';

const author = { id: 'u1', username: 'u1', displayName: 'U1', role: 'USER' as const };
const at = (msAgo: number) => new Date(Date.UTC(2026, 0, 1) - msAgo);
const NOW = at(0);

function msg(room: string, seq: number, msAgo = 60_000, withEvent = true): StoredPosted {
  const createdAt = at(msAgo);
  const posted = withEvent
    ? newEvent('message.posted', room, author.id, {
        message: { id: `${room}:${seq}`, room, seq, author, body: 'x', status: 'VISIBLE', clientMsgId: `c${seq}`, createdAt: createdAt.toISOString(), editedAt: null, pinned: false },
      })
    : null;
  return { messageId: `${room}:${seq}`, seq, createdAt, posted };
}

/** An in-memory repository: rooms of messages, an audit log of event ids, checkpoints. */
function fakeDeps(rooms: Record<string, StoredPosted[]>, audited: Set<string>, republished: DomainEvent[][]): ReconcileDeps & { cps: Map<string, number> } {
  const cps = new Map<string, number>();
  return {
    cps,
    now: () => NOW,
    settleMs: 30_000,
    chunk: 2,
    lastSeq: (room) => Promise.resolve(rooms[room]?.length ?? 0),
    republish: (events) => {
      republished.push(events);
      return Promise.resolve();
    },
    repo: {
      roomIds: () => Promise.resolve(Object.keys(rooms)),
      checkpoints: () => Promise.resolve(new Map(cps)),
      advance: (room, seq) => {
        cps.set(room, Math.max(cps.get(room) ?? 0, seq));
        return Promise.resolve();
      },
      postedRange: (room, from, to) => Promise.resolve((rooms[room] ?? []).filter((m) => m.seq >= from && m.seq <= to)),
      audited: (ids) => Promise.resolve(new Set(ids.filter((id) => audited.has(id)))),
    },
  };
}

describe('assess', () => {
  it('names the missing events and proves only the prefix before the first of them', () => {
    const ms = [msg('r', 1), msg('r', 2), msg('r', 3), msg('r', 4)];
    const audited = new Set([ms[0]!.posted!.id, ms[2]!.posted!.id, ms[3]!.posted!.id]);
    const a = assess(1, ms, audited);
    expect(a.missing.map((e) => e.id)).toEqual([ms[1]!.posted!.id]);
    expect(a.provenThrough).toBe(1);
  });

  it('counts messages stored without an event and passes over them', () => {
    const ms = [msg('r', 5, 60_000, false), msg('r', 6)];
    const a = assess(5, ms, new Set([ms[1]!.posted!.id]));
    expect(a).toMatchObject({ missing: [], provenThrough: 6, withoutEvent: 1 });
  });
});

describe('reconcile', () => {
  it('republishes every missing event of every room, moving each checkpoint over the proven prefix only', async () => {
    const a = [msg('a', 1), msg('a', 2), msg('a', 3), msg('a', 4), msg('a', 5)];
    const b = [msg('b', 1), msg('b', 2)];
    const audited = new Set([...a, ...b].map((m) => m.posted!.id));
    audited.delete(a[1]!.posted!.id);
    audited.delete(a[3]!.posted!.id);
    const out: DomainEvent[][] = [];
    const deps = fakeDeps({ a, b }, audited, out);
    const r = await reconcile(deps);
    expect(r.republished.map((e) => e.id).sort()).toEqual([a[1]!.posted!.id, a[3]!.posted!.id].sort());
    expect(r.checked).toBe(7);
    expect(deps.cps.get('a')).toBe(1);
    expect(deps.cps.get('b')).toBe(2);

    // Once the log has them, the next run proves the rest and checks only from the checkpoint.
    for (const e of r.republished) audited.add(e.id);
    const r2 = await reconcile(deps);
    expect(r2.republished).toEqual([]);
    expect(r2.checked).toBe(4);
    expect(deps.cps.get('a')).toBe(5);
    expect((await reconcile(deps)).checked).toBe(0);
  });

  it('leaves messages younger than the settle time to the normal path', async () => {
    const a = [msg('a', 1), msg('a', 2, 1_000), msg('a', 3)];
    const out: DomainEvent[][] = [];
    const deps = fakeDeps({ a }, new Set(), out);
    const r = await reconcile(deps);
    expect(r.republished.map((e) => e.id)).toEqual([a[0]!.posted!.id]);
    expect(r.checked).toBe(1);
    expect(deps.cps.get('a')).toBeUndefined();
  });
});
