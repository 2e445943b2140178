import { describe, expect, it } from 'vitest';
import { highlight } from './highlight.js';

describe('highlight', () => {
  it('marks the words a query matches, prefixes and accents as the index does', () => {
    expect(highlight('The deployment is on Friday', 'deplo friday')).toEqual([
      { text: 'The ', match: false },
      { text: 'deployment', match: true },
      { text: ' is on ', match: false },
      { text: 'Friday', match: true },
    ]);
    expect(highlight('un café', 'cafe')).toEqual([
      { text: 'un ', match: false },
      { text: 'café', match: true },
    ]);
  });

  it('keeps markup as text, every character of the snippet in order', () => {
    const snippet = '…<b>deploy</b> <img src=x onerror=alert(1)>';
    const parts = highlight(snippet, 'deploy');
    expect(parts.map((p) => p.text).join('')).toBe(snippet);
    expect(parts.filter((p) => p.match).map((p) => p.text)).toEqual(['deploy']);
  });

  it('gives the whole snippet unmarked when nothing matches', () => {
    expect(highlight('nothing here', 'zebra')).toEqual([{ text: 'nothing here', match: false }]);
    expect(highlight('', 'zebra')).toEqual([]);
  });
});
