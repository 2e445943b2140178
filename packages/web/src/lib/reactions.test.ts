import { describe, expect, it } from 'vitest';
import type { Reaction } from './messages.js';
import { describeReactors, withWanted } from './reactions.js';

const r = (emoji: string, count: number, reactedByMe = false, users: string[] = []): Reaction => ({
  emoji,
  count,
  reactedByMe,
  users: users.map((n) => ({ id: n.toLowerCase(), displayName: n })),
});
const shown = (rs: Reaction[]) => rs.map((x) => `${x.emoji}${x.count}${x.reactedByMe ? '*' : ''}`);

describe('withWanted', () => {
  it('applies the reader’s toggles on the way to the server’s state, most used first', () => {
    const server = [r('🎉', 2), r('👍', 2, true), r('👀', 1)];
    expect(shown(withWanted(server, new Map()))).toEqual(['🎉2', '👍2*', '👀1']);
    expect(shown(withWanted(server, new Map([['👀', true]])))).toEqual(['🎉2', '👍2*', '👀2*']);
    expect(shown(withWanted(server, new Map([['👍', false]])))).toEqual(['🎉2', '👍1', '👀1']);
    expect(shown(withWanted(server, new Map([['😂', true]])))).toEqual([
      '🎉2',
      '👍2*',
      '👀1',
      '😂1*',
    ]);
    // Already as wanted (the server has caught up): nothing added twice.
    expect(shown(withWanted(server, new Map([['👍', true]])))).toEqual(['🎉2', '👍2*', '👀1']);
    // The last one taken back: gone.
    expect(shown(withWanted([r('👍', 1, true)], new Map([['👍', false]])))).toEqual([]);
    // The server's array is left as it was.
    expect(shown(server)).toEqual(['🎉2', '👍2*', '👀1']);
  });
});

describe('describeReactors', () => {
  it('names the reader as You, then the others, then how many more', () => {
    expect(describeReactors(r('👍', 2, true, ['Ann', 'Ben']), 'ann')).toBe(
      'You and Ben reacted with 👍',
    );
    expect(describeReactors(r('👍', 1, false, ['Ben']), 'ann')).toBe('Ben reacted with 👍');
    expect(describeReactors(r('🎉', 5, false, ['Ann', 'Ben']), 'cat')).toBe(
      'Ann, Ben and 3 others reacted with 🎉',
    );
    expect(describeReactors(r('🎉', 1, true), 'cat')).toBe('You reacted with 🎉');
  });
});
