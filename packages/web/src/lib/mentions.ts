import { mentionRanges } from '@conversa/contracts/mentions';
import type { Person } from './messages.js';

/** A piece of a message body: plain text, or an @mention the server parsed (never HTML). */
export interface BodyPart {
  text: string;
  /** `me`: the reader is mentioned; `room`: @room; `user`: another member. */
  mention?: 'user' | 'me' | 'room';
}

/**
 * A body cut into text and mentions. Only what the write path stored as mentions is marked
 * (`mentions`: members other than the author; `mentionsRoom`), found with the write path's own
 * parser (@conversa/contracts/mentions), so "@someone" who is not in the room stays plain text.
 */
export function bodyParts(
  body: string,
  mentions: readonly Pick<Person, 'username'>[],
  mentionsRoom: boolean,
  me: string,
): BodyPart[] {
  const names = new Set(mentions.map((p) => p.username.toLowerCase()));
  const mine = me.toLowerCase();
  const out: BodyPart[] = [];
  let at = 0;
  for (const r of mentionRanges(body)) {
    const kind =
      r.name === 'room'
        ? mentionsRoom
          ? 'room'
          : undefined
        : names.has(r.name)
          ? r.name === mine
            ? 'me'
            : 'user'
          : undefined;
    if (!kind) continue;
    if (r.start > at) out.push({ text: body.slice(at, r.start) });
    out.push({ text: body.slice(r.start, r.end), mention: kind });
    at = r.end;
  }
  if (at < body.length) out.push({ text: body.slice(at) });
  return out;
}

/** An @word being typed: where its @ is, and the letters after it. */
export interface Completing {
  start: number;
  query: string;
}

// As the write path's parser: an @ that starts a word, then up to a username's characters.
const TYPING_MENTION = /(?<![\p{L}\p{N}_.@-])@([A-Za-z0-9_.-]{0,32})$/u;

/** The @mention the caret is at the end of, if any (what a completion list should offer for). */
export function completionAt(text: string, caret: number): Completing | null {
  const m = TYPING_MENTION.exec(text.slice(0, caret));
  return m ? { start: m.index, query: m[1]! } : null;
}

/** One entry of the completion list. */
export type Candidate = { kind: 'person'; person: Person } | { kind: 'room' };

/**
 * The people (and @room) an @word can become: usernames that start with the letters typed,
 * then people a word of whose display name does, each group by name; never the writer (a
 * mention of oneself counts for nothing). @room is always kept when it matches.
 */
export function candidates(
  query: string,
  people: Iterable<Person>,
  me: string,
  opts: { room: boolean; max?: number },
): Candidate[] {
  const q = query.toLowerCase();
  const max = opts.max ?? 8;
  const byName: Person[] = [];
  const byDisplay: Person[] = [];
  const seen = new Set<string>();
  for (const p of people) {
    if (p.id === me || seen.has(p.id)) continue;
    seen.add(p.id);
    if (p.username.toLowerCase().startsWith(q)) byName.push(p);
    else if (
      p.displayName
        .toLowerCase()
        .split(/\s+/)
        .some((w) => w.startsWith(q))
    )
      byDisplay.push(p);
  }
  const order = (a: Person, b: Person) =>
    a.displayName.localeCompare(b.displayName) || a.username.localeCompare(b.username);
  const room = opts.room && 'room'.startsWith(q);
  const found: Candidate[] = [...byName.sort(order), ...byDisplay.sort(order)]
    .slice(0, room ? max - 1 : max)
    .map((person) => ({ kind: 'person', person }));
  if (room) found.push({ kind: 'room' });
  return found;
}

/** The text with the @word replaced by `@username ` and the caret after it. */
export function complete(
  text: string,
  at: Completing,
  caret: number,
  username: string,
): { text: string; caret: number } {
  const after = text.slice(caret);
  const inserted = `@${username}${/^\s/.test(after) ? '' : ' '}`;
  const before = text.slice(0, at.start) + inserted;
  return { text: before + after, caret: before.length + (/^\s/.test(after) ? 1 : 0) };
}
