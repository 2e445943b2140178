import { describe, expect, it } from 'vitest';
import { matchRanges, parseQuery } from './match.js';

const marked = (text: string, q: string) =>
  matchRanges(text, parseQuery(q)).map((r) => text.slice(r.start, r.end));

describe('matchRanges', () => {
  it('marks whole words the query names or begins, folded as the index folds them', () => {
    expect(marked('The deployment is DEPLOYED', 'deplo')).toEqual(['deployment', 'DEPLOYED']);
    expect(marked('un Café noir, cafeteria', 'cafe')).toEqual(['Café', 'cafeteria']);
    expect(marked('deploy the thing', '"the thing" deploy')).toEqual(['deploy', 'the', 'thing']);
    expect(marked('redeploy', 'deploy')).toEqual([]);
  });

  it('marks the query characters inside a CJK run, overlaps merged', () => {
    expect(marked('明天的会议取消了', '会议')).toEqual(['会议']);
    expect(marked('会议会议', '会议')).toEqual(['会议会议']);
    expect(marked('明天的会议取消了', '会议取消')).toEqual(['会议取消']);
  });

  it('treats markup in the text as text: only its words can match', () => {
    const text = '<b>deploy</b> <img src=x onerror=alert(1)>';
    expect(marked(text, 'deploy')).toEqual(['deploy']);
    expect(marked(text, 'img')).toEqual(['img']);
  });

  it('marks nothing for a query without words', () => {
    expect(matchRanges('anything', parseQuery('  "" '))).toEqual([]);
  });
});
