import { describe, expect, it } from 'vitest';
import { parseArgs } from './validation.js';
import { SearchArgs } from './resolvers-search.js';

describe('Query.search arguments', () => {
  it('takes a query of 1..200 characters (trimmed, NFC), limit 1..50 (20 by default), an optional room and cursor', () => {
    expect(parseArgs(SearchArgs, { query: '  cafe\u0301 ' })).toEqual({ query: 'café', limit: 20 });
    expect(parseArgs(SearchArgs, { query: 'x', room: 'general', after: 'abc', limit: 50 })).toEqual({ query: 'x', room: 'general', after: 'abc', limit: 50 });
  });

  it('refuses what is out of bounds', () => {
    for (const bad of [{ query: '' }, { query: '   ' }, { query: 'x'.repeat(201) }, { query: 'x', limit: 0 }, { query: 'x', limit: 51 }, { query: 'x', after: '' }, { query: 'a\u0000b' }, { query: 'x', room: '__proto__' }]) {
      expect(() => parseArgs(SearchArgs, bad)).toThrow();
    }
  });
});
