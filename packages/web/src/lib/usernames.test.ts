import { describe, expect, it } from 'vitest';
import { parseUsernames, resolveUsernames } from './usernames.js';

describe('usernames', () => {
  it('reads a list typed any common way', () => {
    expect(parseUsernames(' @Ben, cat  dee;ben ')).toEqual(['ben', 'cat', 'dee']);
    expect(parseUsernames(' , ')).toEqual([]);
  });

  it('finds the people, case-insensitively, and names the unknown', () => {
    const ben = { id: 'u1', username: 'Ben', displayName: 'Ben' };
    expect(resolveUsernames(['ben', 'zed'], [ben])).toEqual({ found: [ben], unknown: ['zed'] });
  });
});
