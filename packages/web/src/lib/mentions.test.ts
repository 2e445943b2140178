import { describe, expect, it } from 'vitest';
import { bodyParts, candidates, complete, completionAt } from './mentions.js';

const person = (id: string, username: string, displayName: string) => ({
  id,
  username,
  displayName,
});
const ann = person('u1', 'ann_1', 'Ann Lee');
const ben = person('u2', 'ben_1', 'Ben');
const bea = person('u3', 'zed', 'Bea Young');
const names = (cs: ReturnType<typeof candidates>) =>
  cs.map((c) => (c.kind === 'room' ? '@room' : c.person.username));

describe('bodyParts', () => {
  it('marks the mentions the server parsed, and only those', () => {
    const body = 'hi @Ben_1 and @ann_1, not @nobody or mail x@ben_1.com; @room!';
    expect(bodyParts(body, [{ username: 'ben_1' }, { username: 'ann_1' }], true, 'ann_1')).toEqual([
      { text: 'hi ' },
      { text: '@Ben_1', mention: 'user' },
      { text: ' and ' },
      { text: '@ann_1', mention: 'me' },
      { text: ', not @nobody or mail x@ben_1.com; ' },
      { text: '@room', mention: 'room' },
      { text: '!' },
    ]);
  });

  it('leaves @room as text when the server did not count it, and a body without mentions whole', () => {
    expect(bodyParts('@room <b>x</b>', [], false, 'ann')).toEqual([{ text: '@room <b>x</b>' }]);
    expect(bodyParts('', [], false, 'ann')).toEqual([]);
  });
});

describe('completion', () => {
  it('finds the @word before the caret, not inside an address or a word', () => {
    expect(completionAt('hello @be', 9)).toEqual({ start: 6, query: 'be' });
    expect(completionAt('@', 1)).toEqual({ start: 0, query: '' });
    expect(completionAt('hello @be there', 9)).toEqual({ start: 6, query: 'be' });
    expect(completionAt('mail ann@ex', 11)).toBeNull();
    expect(completionAt('hello @be there', 15)).toBeNull();
  });

  it('offers usernames first, then display names, never the writer, @room when it matches', () => {
    const people = [ann, ben, bea, ben];
    expect(names(candidates('be', people, 'u1', { room: true }))).toEqual(['ben_1', 'zed']);
    expect(names(candidates('', people, 'u2', { room: true }))).toEqual(['ann_1', 'zed', '@room']);
    expect(names(candidates('ro', people, 'u2', { room: true }))).toEqual(['@room']);
    expect(names(candidates('ro', people, 'u2', { room: false }))).toEqual([]);
    expect(names(candidates('LEE', people, 'u2', { room: true }))).toEqual(['ann_1']);
    // @room keeps its place when the people fill the list.
    expect(names(candidates('', people, 'u9', { room: true, max: 2 }))).toEqual(['ann_1', '@room']);
  });

  it('inserts @username and one space, the caret after them', () => {
    expect(complete('hi @be', { start: 3, query: 'be' }, 6, 'ben_1')).toEqual({
      text: 'hi @ben_1 ',
      caret: 10,
    });
    expect(complete('hi @be there', { start: 3, query: 'be' }, 6, 'ben_1')).toEqual({
      text: 'hi @ben_1 there',
      caret: 10,
    });
  });
});
