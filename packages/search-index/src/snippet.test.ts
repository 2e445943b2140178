import { describe, expect, it } from 'vitest';
import { parseQuery } from './query.js';
import { snippet } from './snippet.js';

describe('snippets', () => {
  it('gives a short body whole, whitespace collapsed', () => {
    expect(snippet('the  deployment\nis done', parseQuery('deplo'))).toBe('the deployment is done');
  });

  it('cuts a long body around the first match, at word boundaries, with ellipses', () => {
    const body = `${'lorem ipsum '.repeat(40)}the deployment failed at noon ${'dolor sit '.repeat(40)}`;
    const s = snippet(body, parseQuery('deplo'), 80);
    expect(s).toContain('deployment failed');
    expect(s.startsWith('…')).toBe(true);
    expect(s.endsWith('…')).toBe(true);
    expect(s.length).toBeLessThan(120);
    expect(s).not.toMatch(/\b(lore|ipsu|dolo)…/);
  });

  it('finds accent-folded and CJK matches', () => {
    const body = `${'x '.repeat(200)}明天的会议取消了 ${'y '.repeat(200)}`;
    expect(snippet(body, parseQuery('会议'), 40)).toContain('明天的会议取消了');
    expect(snippet(`${'x '.repeat(200)}un café noir`, parseQuery('cafe'), 40)).toContain('café');
  });

  it('falls back to the start of the body when nothing matches', () => {
    expect(snippet('a'.repeat(300), parseQuery('zzz'), 50).startsWith('aaa')).toBe(true);
  });
});
