import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditDoc } from './models.js';
import type { Store } from './store.js';
import { dropStore, isolatedStore } from './int-fixtures.js';

let store: Store;

beforeEach(async () => {
  store = await isolatedStore();
});

afterEach(() => dropStore(store));

describe('audit log', () => {
  const base = Date.UTC(2026, 0, 1);
  const entry = (id: string, minute: number, over: Partial<AuditDoc> = {}): AuditDoc => ({
    _id: id,
    type: 'message.posted',
    version: 1,
    room: 'r1',
    actor: 'ann',
    key: 'r1',
    at: new Date(base + minute * 60_000),
    data: { n: id },
    recordedAt: new Date(),
    ...over,
  });

  it('appendAudit counts only new ids and stores each id once', async () => {
    expect(await store.audit.append([])).toBe(0);
    expect(await store.audit.append([entry('a', 1), entry('b', 2), entry('c', 3)])).toBe(3);
    expect(
      await store.audit.append([entry('b', 2), entry('d', 4), entry('a', 1), entry('e', 5)]),
    ).toBe(2);
    expect(await store.audit.append([entry('a', 1), entry('e', 5)])).toBe(0);
    expect(await store.audit.count()).toBe(5);
    const ids = (await store.audit.page({ limit: 100 })).map((e) => e._id);
    expect(ids).toEqual(['a', 'b', 'c', 'd', 'e']);
  });

  it('auditPage filters by room, actor, type and time range', async () => {
    const entries: AuditDoc[] = [
      entry('e1', 1, { room: 'r1', actor: 'ann', type: 'message.posted' }),
      entry('e2', 2, { room: 'r2', actor: 'ann', type: 'room.joined' }),
      entry('e3', 3, { room: 'r1', actor: 'bob', type: 'room.joined' }),
      entry('e4', 4, { room: null, actor: 'bob', type: 'user.registered', key: 'bob' }),
      entry('e5', 5, { room: 'r1', actor: null, type: 'message.posted' }),
    ];
    expect(await store.audit.append(entries)).toBe(5);
    const ids = async (q: Parameters<Store['audit']['page']>[0]) =>
      (await store.audit.page(q)).map((e) => e._id);

    expect(await ids({ room: 'r1', limit: 10 })).toEqual(['e1', 'e3', 'e5']);
    expect(await ids({ actor: 'bob', limit: 10 })).toEqual(['e3', 'e4']);
    expect(await ids({ type: 'room.joined', limit: 10 })).toEqual(['e2', 'e3']);
    expect(await ids({ room: 'r1', type: 'message.posted', limit: 10 })).toEqual(['e1', 'e5']);
    const t = (minute: number) => new Date(base + minute * 60_000);
    expect(await ids({ since: t(2), limit: 10 })).toEqual(['e2', 'e3', 'e4', 'e5']);
    expect(await ids({ until: t(3), limit: 10 })).toEqual(['e1', 'e2']); // until is exclusive
    expect(await ids({ since: t(2), until: t(5), limit: 10 })).toEqual(['e2', 'e3', 'e4']);
    expect(await ids({ room: 'r1', since: t(2), limit: 10 })).toEqual(['e3', 'e5']);
    expect(await ids({ limit: 2 })).toEqual(['e1', 'e2']);
    expect(await store.audit.count({ room: 'r1' })).toBe(3);
    expect(await store.audit.count({ type: 'room.joined' })).toBe(2);
  });

  it('the (at, id) cursor returns every entry exactly once across pages, ties included', async () => {
    // 23 entries on 6 distinct instants: several share `at`, so the id breaks ties.
    const entries = Array.from({ length: 23 }, (_, i) =>
      entry(`id-${String((i * 7) % 23).padStart(2, '0')}`, i % 6, {
        room: i % 2 === 0 ? 'even' : 'odd',
      }),
    );
    expect(await store.audit.append(entries)).toBe(23);
    const expected = [...entries]
      .sort((a, b) => a.at.getTime() - b.at.getTime() || (a._id < b._id ? -1 : 1))
      .map((e) => e._id);

    const collect = async (q: { room?: string }) => {
      const seen: string[] = [];
      let after: { at: Date; id: string } | undefined;
      for (let pages = 0; pages < 50; pages++) {
        const page = await store.audit.page({ ...q, limit: 4, ...(after ? { after } : {}) });
        if (page.length === 0) return seen;
        seen.push(...page.map((e) => e._id));
        const last = page.at(-1)!;
        after = { at: last.at, id: last._id };
      }
      throw new Error('paging did not end');
    };

    expect(await collect({})).toEqual(expected);
    expect(await collect({ room: 'even' })).toEqual(
      expected.filter((id) => entries.find((e) => e._id === id)!.room === 'even'),
    );
  });
});

describe('auditPage newest first', () => {
  it('pages the log newest first with the same cursor, each entry once', async () => {
    const base = Date.parse('2026-01-01T00:00:00Z');
    const entries = Array.from({ length: 7 }, (_, i) => ({
      _id: `e${i}`,
      type: 'room.joined',
      version: 1,
      room: 'r',
      actor: 'u',
      key: 'r',
      at: new Date(base + Math.floor(i / 2) * 1000),
      data: {},
      recordedAt: new Date(),
    }));
    await store.audit.append(entries);
    const seen: string[] = [];
    let after: { at: Date; id: string } | undefined;
    for (;;) {
      const page = await store.audit.page({
        limit: 3,
        newestFirst: true,
        ...(after ? { after } : {}),
      });
      if (page.length === 0) break;
      seen.push(...page.map((e) => e._id));
      const last = page.at(-1)!;
      after = { at: last.at, id: last._id };
    }
    expect(seen).toEqual(['e6', 'e5', 'e4', 'e3', 'e2', 'e1', 'e0']);
  });
});
