import { describe, expect, it } from 'vitest';
import { MAX_QUERY_LEXEMES, parseQuery, toTsqueryText } from './query.js';

const ts = (q: string) => toTsqueryText(parseQuery(q));

describe('the query language', () => {
  it('makes each bare word a prefix (and the exact word), all required', () => {
    expect(ts('deplo')).toBe("'deplo':*");
    expect(ts('Deplo  FRIDAY')).toBe("'deplo':* & 'friday':*");
    expect(toTsqueryText(parseQuery('Deplo "a b"'), { exact: true })).toBe("'deplo' & ('a' <-> 'b')");
  });

  it('folds accents as the index does', () => {
    expect(ts('CAFÉ')).toBe("'cafe':*");
  });

  it('matches a quoted phrase word by word in order, without prefixes', () => {
    expect(ts('"release notes" draft')).toBe("('release' <-> 'notes') & 'draft':*");
    expect(ts('"unclosed phrase here')).toBe("('unclosed' <-> 'phrase' <-> 'here')");
  });

  it('turns a CJK run into a phrase of its bigrams, one character into a unigram', () => {
    expect(ts('会议')).toBe("'会议'");
    expect(ts('会议取消')).toBe("('会议' <-> '议取' <-> '取消')");
    expect(ts('猫')).toBe("'猫'");
  });

  it('makes a chunk that splits into words a phrase with a prefix at its end', () => {
    expect(ts('e-mail')).toBe("('e' <-> 'mail':*)");
  });

  it('has nothing to match without letters or digits, and drops repeated parts', () => {
    expect(ts('!!! "" ')).toBeNull();
    expect(ts('')).toBeNull();
    expect(ts('a a "a"')).toBe("'a':* & 'a'");
  });

  it('quotes what the tsquery syntax would read as operators', () => {
    // Only letters and digits become lexemes: operators and quotes never reach PostgreSQL raw.
    expect(ts("it's & | ! <-> (x) :*")).toBe("('it' <-> 's':*) & 'x':*");
  });

  it('bounds the number of lexemes', () => {
    const q = parseQuery(Array.from({ length: 100 }, (_, i) => `w${i}`).join(' '));
    expect(q.clauses.flatMap((c) => c.lexemes)).toHaveLength(MAX_QUERY_LEXEMES);
  });
});
