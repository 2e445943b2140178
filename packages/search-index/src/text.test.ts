import { describe, expect, it } from 'vitest';
import { foldWord, lexemes, toTsvectorText, tokenize } from './text.js';

describe('text analysis', () => {
  it('folds Latin accents, compatibility forms and case, and leaves other scripts alone', () => {
    expect(foldWord('Café')).toBe('cafe');
    expect(foldWord('ＣＡＦÉ')).toBe('cafe');
    expect(foldWord('Ärger')).toBe('arger');
    expect(foldWord('ﬁnance')).toBe('finance');
    expect(foldWord('नमस्ते')).toBe('नमस्ते'); // vowel signs are not accents
    expect(foldWord('Привет')).toBe('привет');
  });

  it('splits words at anything that is not a letter or digit, with offsets', () => {
    expect(tokenize('Hello, wörld! e-mail v1.2').map((t) => (t.kind === 'word' ? t.lexeme : '?'))).toEqual(['hello', 'world', 'e', 'mail', 'v1', '2']);
    const [t] = tokenize('  déjà');
    expect(t).toMatchObject({ start: 2, end: 6 });
  });

  it('keeps CJK runs apart from the Latin words around them', () => {
    const t = tokenize('明天的会议abc取消');
    expect(t.map((x) => (x.kind === 'cjk' ? x.chars.join('') : x.lexeme))).toEqual(['明天的会议', 'abc', '取消']);
  });

  it('turns a CJK run into overlapping bigrams at consecutive positions, plus positionless unigrams', () => {
    const l = lexemes('明天的会议取消了 ok');
    expect(l.get('明天')).toEqual([1]);
    expect(l.get('会议')).toEqual([4]);
    expect(l.get('消了')).toEqual([7]);
    expect(l.get('ok')).toEqual([8]);
    expect(l.get('了')).toEqual([]);
    expect(l.has('明天的会议取消了')).toBe(false);
  });

  it('keeps Korean syllables whole (NFKD would split them into jamo) and a lone CJK character as a unigram', () => {
    expect([...lexemes('회의 猫').keys()]).toEqual(['회의', '회', '의', '猫']);
    expect(lexemes('회의 猫').get('猫')).toEqual([2]);
  });

  it('writes a tsvector literal with quoting that PostgreSQL reads back', () => {
    expect(toTsvectorText('a b a 猫狗')).toBe("'a':1,3 'b':2 '猫狗':4 '猫' '狗'");
    expect(toTsvectorText('!!!')).toBe('');
  });
});
