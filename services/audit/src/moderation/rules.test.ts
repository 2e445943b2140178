import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ModerationAction, derivedActionId } from '@conversa/contracts';
import { toActions } from './actions.js';
import { blockedDomain, findLinks } from './links.js';
import { loadRulesFile, parseRules } from './rules-file.js';
import { ModerationEngine, RulesFile, type MessageFacts } from './rules.js';
import { termMatcher } from './terms.js';
import { foldText, skeleton } from './text.js';

const rules = (r: unknown[], extra: Record<string, unknown> = {}) => RulesFile.parse({ version: 1, rules: r, ...extra });
let n = 0;
const msg = (body: string, over: Partial<MessageFacts> = {}): MessageFacts => {
  n++;
  return {
    eventId: `e${n}`,
    kind: 'posted',
    messageId: `m${n}`,
    room: 'general',
    authorId: 'ann',
    authorRole: 'USER',
    body,
    at: Date.UTC(2026, 0, 1) + n,
    ...over,
  };
};

describe('foldText and skeleton', () => {
  it('drops case, accents and invisible characters', () => {
    expect(foldText('BÁD Ação')).toBe('bad acao');
    expect(foldText('b\u200Ba\u200Dd\uFEFF\u2060')).toBe('bad');
    expect(foldText('ｂａｄ')).toBe('bad'); // fullwidth
  });
  it('gives one skeleton to texts that differ by case, spacing, repeats and look-alikes', () => {
    const s = skeleton('Buy now!');
    expect(s).toBe('buynow');
    for (const t of ['BUY   NOW', 'buuuy n0w!!!', 'b u y  n o w', 'Búy nöw']) expect(skeleton(t)).toBe(s);
    expect(skeleton('buy later')).not.toBe(s);
  });
});

describe('banned terms', () => {
  const m = termMatcher(['bad', 'ass', 'filho da puta', 'foda-se']);
  it.each([
    ['plain', 'that is bad'],
    ['upper case and accent', 'BÁD'],
    ['spaced', 'b a d'],
    ['dotted and dashed', 'b.a.d and b-a-d'],
    ['digits for letters', 'b4d'],
    ['symbols for letters', 'so @$$'],
    ['repeated letters', 'baaaaad'],
    ['repeated and spaced', 'b  a a a  d'],
    ['zero-width characters', 'b\u200Ba\u200Cd'],
    ['word joiner and soft hyphen', 'b\u2060a\u00ADd'],
    ['everything at once', 'B 4 Á\u200B D D'],
    ['a phrase with its spaces', 'seu filho da puta'],
    ['a phrase without its spaces', 'filhodaputa'],
    ['a phrase dodged', 'f1lh0  d4  pvta'.replace('v', 'u')],
    ['a hyphenated phrase written together', 'fodase'],
  ])('finds %s: %j', (_what, text) => {
    expect(m.find(text)).toBeDefined();
  });
  it.each([
    ['a longer word', 'badge'],
    ['a word that contains it', 'embassy'],
    ['letters across words', 'crab a dog'],
    ['a shorter form', 'as'],
    ['a clean sentence', 'Hello everyone, good morning!'],
    ['Portuguese that contains it', 'computador e disputa'],
  ])('leaves %s alone: %j', (_what, text) => {
    expect(m.find(text)).toBeUndefined();
  });
  it('names the configured term that matched, the phrase before its words', () => {
    expect(m.find('FILHO DA PUTA')).toBe('filho da puta');
    expect(m.find('b4d')).toBe('bad');
    expect(termMatcher([]).find('anything')).toBeUndefined();
  });
});

describe('links', () => {
  it('finds links with a scheme, www. and bare domains, lower-cased without www.', () => {
    expect(findLinks('see https://Example.com/a?b=1, www.foo.org and bar.io/x; mail me@x.com')).toEqual(['example.com', 'foo.org', 'bar.io']);
    expect(findLinks('file.txt and e.g. nothing')).toEqual([]);
    expect(findLinks('grabify\u200B.link/abc')).toEqual(['grabify.link']);
  });
  it('matches a blocked domain and its subdomains only', () => {
    expect(blockedDomain('grabify.link', ['grabify.link'])).toBe('grabify.link');
    expect(blockedDomain('a.grabify.link', ['grabify.link'])).toBe('grabify.link');
    expect(blockedDomain('notgrabify.link', ['grabify.link'])).toBeUndefined();
  });
});

describe('ModerationEngine', () => {
  it('hides a message with a banned word, dodged or not, and says which', () => {
    const e = new ModerationEngine(rules([{ id: 'words', type: 'banned-words', words: ['bad'], action: { kind: 'hide' } }]));
    expect(e.evaluate(msg('so b 4 a d'))).toEqual([{ rule: 'words', action: { kind: 'hide' }, reason: 'banned term "bad"' }]);
    expect(e.evaluate(msg('all good'))).toEqual([]);
    expect(e.evaluate(msg('edited to bad', { kind: 'edited' }))).toHaveLength(1);
  });

  it('leaves admins alone unless told otherwise', () => {
    const spec = [{ id: 'words', type: 'banned-words', words: ['bad'], action: { kind: 'hide' } }];
    expect(new ModerationEngine(rules(spec)).evaluate(msg('bad', { authorRole: 'ADMIN' }))).toEqual([]);
    expect(new ModerationEngine(rules(spec, { exemptAdmins: false })).evaluate(msg('bad', { authorRole: 'ADMIN' }))).toHaveLength(1);
  });

  it('fires on too many links and on a blocked domain', () => {
    const e = new ModerationEngine(rules([{ id: 'links', type: 'links', maxLinks: 2, blockedDomains: ['spam.io'], action: { kind: 'flag' } }]));
    expect(e.evaluate(msg('a.com b.com'))).toEqual([]);
    expect(e.evaluate(msg('a.com b.com c.com'))[0]?.reason).toBe('3 links in one message (at most 2)');
    expect(e.evaluate(msg('go to https://x.spam.io now'))[0]?.reason).toBe('link to the blocked domain spam.io');
  });

  it('counts a flood per person and room within the window, and starts afresh after a mute', () => {
    const e = new ModerationEngine(rules([{ id: 'flood', type: 'flood', maxMessages: 3, windowSeconds: 10, action: { kind: 'mute', minutes: 1 } }]));
    const t0 = Date.UTC(2026, 0, 2);
    const at = (s: number, over: Partial<MessageFacts> = {}) => e.evaluate(msg('hi', { at: t0 + s * 1_000, ...over }));
    expect([at(0), at(1), at(2)].flat()).toEqual([]);
    expect(at(3, { room: 'other' })).toEqual([]); // another room
    expect(at(3, { authorId: 'ben' })).toEqual([]); // another person
    expect(at(3)[0]).toMatchObject({ rule: 'flood', reason: '4 messages in 10 s (at most 3)', action: { kind: 'mute', scope: 'room', minutes: 1 } });
    expect(at(4)).toEqual([]); // counting again after the mute
    // Slow senders never flood: the window slides.
    const slow = new ModerationEngine(rules([{ id: 'flood', type: 'flood', maxMessages: 2, windowSeconds: 1, action: { kind: 'hide' } }]));
    for (let i = 0; i < 10; i++) expect(slow.evaluate(msg('hi', { at: t0 + i * 600 }))).toEqual([]);
  });

  it('does not count a redelivered event twice, nor edits', () => {
    const e = new ModerationEngine(rules([{ id: 'flood', type: 'flood', maxMessages: 2, windowSeconds: 10, action: { kind: 'hide' } }]));
    const first = msg('hi');
    expect([e.evaluate(first), e.evaluate(first), e.evaluate(first)].flat()).toEqual([]);
    expect(e.evaluate(msg('hi', { kind: 'edited' }))).toEqual([]);
    expect(e.evaluate(msg('hi'))).toEqual([]);
    expect(e.evaluate(msg('hi'))).toHaveLength(1);
  });

  it('hides the same text sent again and again, however it is dressed', () => {
    const e = new ModerationEngine(rules([{ id: 'repeat', type: 'repetition', maxRepeats: 2, windowSeconds: 60, action: { kind: 'hide' } }]));
    expect(e.evaluate(msg('Buy now'))).toEqual([]);
    expect(e.evaluate(msg('buy NOW!!'))).toEqual([]);
    expect(e.evaluate(msg('something else'))).toEqual([]);
    expect(e.evaluate(msg('b u u y   n0w'))[0]).toMatchObject({ rule: 'repeat', reason: 'the same text 3 times in 60 s (at most 2)' });
    expect(e.evaluate(msg('buy now'))).toHaveLength(1); // every further repeat is hidden too
    expect(e.evaluate(msg('buy now', { authorId: 'ben' }))).toEqual([]);
    expect(e.evaluate(msg('!!!'))).toEqual([]); // nothing left to compare
  });

  it('forgets old window state', () => {
    const e = new ModerationEngine(rules([{ id: 'flood', type: 'flood', maxMessages: 5, windowSeconds: 1, action: { kind: 'hide' } }]));
    const t0 = Date.UTC(2026, 0, 3);
    for (let i = 0; i < 999; i++) e.evaluate(msg('x', { authorId: `u${i}`, at: t0 }));
    expect(e.stateSize).toBe(999);
    e.evaluate(msg('x', { authorId: 'late', at: t0 + 5_000 }));
    expect(e.stateSize).toBe(1); // the 1,000th evaluation pruned everything older than the window
  });

  it('knows which events are too old to moderate', () => {
    const e = new ModerationEngine(rules([], { maxEventAgeSeconds: 60 }));
    expect(e.isFresh(0, 60_000)).toBe(true);
    expect(e.isFresh(0, 60_001)).toBe(false);
  });
});

describe('toActions', () => {
  const m = msg('bad', { eventId: 'ev-1', messageId: 'msg-1', authorId: 'ann', room: 'general' });
  const now = new Date('2026-01-01T00:00:00.000Z');
  it('targets the message for hide and flag, the author for a mute, with an end time', () => {
    const actions = toActions(
      m,
      [
        { rule: 'words', action: { kind: 'hide' }, reason: 'r1' },
        { rule: 'flood', action: { kind: 'mute', scope: 'room', minutes: 10 }, reason: 'r2' },
        { rule: 'threats', action: { kind: 'mute', scope: 'everywhere', minutes: 0.5 }, reason: 'r3' },
        { rule: 'review', action: { kind: 'flag' }, reason: 'r4' },
      ],
      now,
    );
    expect(actions.map((a) => [a.kind, a.target, a.room, a.until, a.rule, a.by])).toEqual([
      ['hide', 'msg-1', 'general', null, 'words', null],
      ['mute', 'ann', 'general', '2026-01-01T00:10:00.000Z', 'flood', null],
      ['mute', 'ann', null, '2026-01-01T00:00:30.000Z', 'threats', null],
      ['flag', 'msg-1', 'general', null, 'review', null],
    ]);
    for (const a of actions) expect(ModerationAction.parse(a)).toEqual(a);
  });
  it('gives the same ids for the same event and rule, and keeps one of two identical asks', () => {
    const d = [
      { rule: 'a', action: { kind: 'hide' as const }, reason: 'x' },
      { rule: 'b', action: { kind: 'hide' as const }, reason: 'y' },
    ];
    const one = toActions(m, d, now);
    expect(one).toHaveLength(1);
    expect(toActions(m, d, new Date(now.getTime() + 5))[0]!.id).toBe(one[0]!.id);
    expect(derivedActionId('x')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedActionId('x')).not.toBe(derivedActionId('y'));
  });
});

describe('rules files', () => {
  it('loads the shipped default, which catches English and Portuguese dodges', () => {
    const file = fileURLToPath(new URL('../../rules/default.yaml', import.meta.url));
    const e = new ModerationEngine(loadRulesFile(file));
    expect(e.evaluate(msg('what the f u c k')).map((d) => d.rule)).toEqual(['profanity-en']);
    expect(e.evaluate(msg('que PÔRRA é essa')).map((d) => d.rule)).toEqual(['profanity-pt']);
    expect(e.evaluate(msg('vai se f0d3r')).map((d) => d.rule)).toEqual(['profanity-pt']);
    expect(e.evaluate(msg('just k1ll yours3lf')).map((d) => d.rule)).toEqual(['threats']);
    expect(e.evaluate(msg('see https://grabify.link/x')).map((d) => d.rule)).toEqual(['link-spam']);
    expect(e.evaluate(msg('good morning, computador novo'))).toEqual([]);
  });

  it('the default flood rule leaves what the gateway rate limit lets through alone, and mutes sustained hammering', () => {
    const file = fileURLToPath(new URL('../../rules/default.yaml', import.meta.url));
    const t0 = Date.UTC(2026, 0, 5);
    /**
     * The times the gateway's default per-(person, room) bucket (20 at once, refilled at one a
     * second) stores messages sent at `attempts` (ms after t0); a refused one is dropped here
     * (its client would retry it later, counted as a later attempt).
     */
    const admittedBy = (attempts: number[]) => {
      let tokens = 20;
      let at = 0;
      return attempts.filter((t) => {
        tokens = Math.min(20, tokens + (t - at) / 1_000);
        at = t;
        if (tokens < 1) return false;
        tokens -= 1;
        return true;
      });
    };
    const floodsOf = (author: string, times: number[]) => {
      const e = new ModerationEngine(loadRulesFile(file));
      return times.flatMap((t, i) => e.evaluate(msg(`line ${i}`, { authorId: author, at: t0 + t })).filter((d) => d.rule === 'flood').map(() => t));
    };
    // A pasted burst of 20, then a lively conversation (one every 3 s for 10 minutes).
    const paste = admittedBy([...Array.from({ length: 20 }, (_, i) => i * 50), ...Array.from({ length: 200 }, (_, i) => 3_000 * (i + 1))]);
    expect(paste).toHaveLength(220);
    expect(floodsOf('paster', paste)).toEqual([]);
    // A flood of 40 as fast as possible: 20 stored, the rest told to wait.
    const flood = admittedBy(Array.from({ length: 40 }, (_, i) => i * 5));
    expect(flood).toHaveLength(20);
    expect(floodsOf('flooder', flood)).toEqual([]);
    // Hammering on, an attempt every 100 ms for a minute: the bucket stores one a second after
    // the first 20, and the 61st stored message within 60 s mutes.
    const hammer = admittedBy(Array.from({ length: 600 }, (_, i) => i * 100));
    const muted = floodsOf('hammer', hammer);
    expect(muted.length).toBeGreaterThan(0);
    expect(muted[0]).toBeGreaterThan(35_000);
    expect(muted[0]).toBeLessThan(45_000);
  });

  it('names the line of a syntax error', () => {
    const text = 'version: 1\nrules:\n  - id: a\n    type: [flood\n';
    expect(() => parseRules(text, 'bad.yaml')).toThrow(/^moderation rules bad\.yaml, line \d+: /);
    try {
      parseRules('version: 1\nrules: []\nrules: []\n', 'dup.yaml');
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/dup\.yaml, line 3: .*(unique|duplicate)/i);
    }
  });

  it('names the line and field of a value the schema refuses', () => {
    const text = ['version: 1', 'rules:', '  - id: flood', '    type: flood', '    maxMessages: 0', '    windowSeconds: 10', '    action: { kind: hide }'].join('\n');
    expect(() => parseRules(text, 'r.yaml')).toThrow(/r\.yaml, line 5: rules\.0\.maxMessages: /);
    const unknownKind = 'version: 1\nrules:\n  - id: x\n    type: flood\n    maxMessages: 1\n    windowSeconds: 1\n    action: { kind: explode }\n';
    expect(() => parseRules(unknownKind, 'r.yaml')).toThrow(/line 7: rules\.0\.action\.kind/);
    const missing = 'version: 1\nrules:\n  - id: x\n    type: links\n';
    expect(() => parseRules(missing, 'r.yaml')).toThrow(/line 3: rules\.0\.action: /);
    expect(() => parseRules('version: 1\nrules:\n  - { id: a, type: links, action: { kind: hide } }\n  - { id: a, type: links, action: { kind: hide } }\n', 'r.yaml')).toThrow(/line 4: .*used twice/);
  });

  it('reads JSON too, and says when the file cannot be read', () => {
    expect(parseRules('{"version":1,"rules":[]}', 'r.json').rules).toEqual([]);
    expect(() => loadRulesFile('/nonexistent/rules.yaml')).toThrow(/cannot read it/);
  });
});
