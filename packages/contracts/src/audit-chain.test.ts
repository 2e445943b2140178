import { describe, expect, it } from 'vitest';
import {
  ChainVerifier,
  GENESIS_HASH,
  auditEntryHash,
  canonicalJson,
  linkEntries,
  type HashedAuditFields,
  type StoredChainEntry,
} from './audit-chain.js';

const entry = (chain: string, i: number): Omit<HashedAuditFields, 'chainSeq'> => ({
  id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
  type: 'room.joined',
  version: 1,
  room: chain,
  actor: 'u1',
  key: chain,
  at: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
  data: { room: chain, user: `u${i}`, nested: { b: 2, a: [1, { d: null, c: 'x' }] } },
  recordedAt: new Date(Date.UTC(2026, 0, 1, 0, 1, i)).toISOString(),
  chain,
});

const chainOf = (chain: string, n: number, from = 1): StoredChainEntry[] =>
  linkEntries({ seq: 0, hash: GENESIS_HASH }, Array.from({ length: n }, (_, i) => entry(chain, from + i))).linked;

function verify(entries: StoredChainEntry[], heads = new Map<string, { seq: number; hash: string }>()) {
  const v = new ChainVerifier(heads);
  for (const e of entries) {
    const broken = v.push(e);
    if (broken) return broken;
  }
  return v.finish() ?? { ok: true, entries: v.entries, chains: v.chains };
}

describe('canonicalJson', () => {
  it('sorts keys at every depth and drops undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"z":1}]},"b":1}');
    expect(canonicalJson({ x: 'é"\n' })).toBe('{"x":"é\\"\\n"}');
    expect(canonicalJson(new Date('2026-01-01T00:00:00Z'))).toBe('"2026-01-01T00:00:00.000Z"');
  });
  it('gives the same text whatever the key order', () => {
    expect(canonicalJson({ a: 1, b: { c: 2, d: 3 } })).toBe(canonicalJson({ b: { d: 3, c: 2 }, a: 1 }));
  });
  it('refuses numbers JSON cannot carry', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/non-finite/);
  });
});

describe('auditEntryHash and linkEntries', () => {
  it('is a sha256 hex that depends on every field and on the previous hash', () => {
    const e = { ...entry('general', 1), chainSeq: 1 };
    const h = auditEntryHash(e, GENESIS_HASH);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(auditEntryHash({ ...e }, GENESIS_HASH)).toBe(h);
    expect(auditEntryHash(e, 'f'.repeat(64))).not.toBe(h);
    for (const change of [{ type: 'room.left' }, { actor: null }, { chainSeq: 2 }, { data: { room: 'general' } }, { recordedAt: e.at }]) {
      expect(auditEntryHash({ ...e, ...change }, GENESIS_HASH)).not.toBe(h);
    }
  });
  it('links entries after a head: dense seqs, each prevHash the previous hash', () => {
    const first = linkEntries({ seq: 0, hash: GENESIS_HASH }, [entry('r', 1), entry('r', 2)]);
    expect(first.linked.map((e) => e.chainSeq)).toEqual([1, 2]);
    expect(first.linked[0]!.prevHash).toBe(GENESIS_HASH);
    expect(first.linked[1]!.prevHash).toBe(first.linked[0]!.hash);
    const next = linkEntries(first.head, [entry('r', 3)]);
    expect(next.linked[0]).toMatchObject({ chainSeq: 3, prevHash: first.linked[1]!.hash });
    // Linking in two steps gives exactly what linking at once gives.
    expect([...first.linked, ...next.linked]).toEqual(linkEntries({ seq: 0, hash: GENESIS_HASH }, [entry('r', 1), entry('r', 2), entry('r', 3)]).linked);
  });
});

describe('ChainVerifier', () => {
  it('accepts intact chains and counts them', () => {
    expect(verify([...chainOf('a', 3), ...chainOf('b', 2)])).toEqual({ ok: true, entries: 5, chains: 2 });
  });

  it('names the entry whose content was altered', () => {
    const c = chainOf('a', 4);
    c[2] = { ...c[2]!, data: { room: 'a', user: 'mallory' } };
    expect(verify(c)).toEqual({ chain: 'a', seq: 3, eventId: c[2].id, problem: expect.stringMatching(/altered/) });
  });

  it('catches an entry re-hashed after the change by the next link', () => {
    const c = chainOf('a', 3);
    const forged = { ...c[1]!, actor: 'mallory' };
    c[1] = { ...forged, hash: auditEntryHash(forged, forged.prevHash) };
    expect(verify(c)).toMatchObject({ chain: 'a', seq: 3, eventId: c[2]!.id, problem: expect.stringMatching(/prevHash/) });
  });

  it('reports a removed entry, a duplicated seq, and a removed tail against the head record', () => {
    const c = chainOf('a', 4);
    expect(verify([c[0]!, c[2]!, c[3]!])).toMatchObject({ chain: 'a', seq: 2, eventId: null, problem: expect.stringMatching(/missing/) });
    expect(verify([c[0]!, c[1]!, { ...c[1]!, id: 'other' }])).toMatchObject({ seq: 2, problem: expect.stringMatching(/two entries/) });
    const heads = new Map([['a', { seq: 4, hash: c[3]!.hash }]]);
    expect(verify(c, heads)).toMatchObject({ ok: true });
    expect(verify(c.slice(0, 3), heads)).toMatchObject({ chain: 'a', seq: 4, problem: expect.stringMatching(/missing at the end/) });
    expect(verify([], heads)).toMatchObject({ chain: 'a', problem: expect.stringMatching(/none is stored/) });
  });

  it('takes a tail beyond the head as an append in progress, but not a rewritten entry at the head', () => {
    const c = chainOf('a', 3);
    expect(verify(c, new Map([['a', { seq: 2, hash: c[1]!.hash }]]))).toMatchObject({ ok: true });
    expect(verify(c, new Map([['a', { seq: 2, hash: 'e'.repeat(64) }]]))).toMatchObject({ seq: 2, problem: expect.stringMatching(/head record/) });
  });

  it('insists on entries grouped by chain', () => {
    const v = new ChainVerifier();
    const [b1, b2] = chainOf('b', 2);
    v.push(b1!);
    expect(v.push(chainOf('a', 1)[0]!)).toBeUndefined();
    expect(() => v.push(b2!)).toThrow(/grouped by chain/);
  });
});
