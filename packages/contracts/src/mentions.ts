import { USERNAME_PATTERN } from './username.js';

/** How many distinct @usernames of one message are looked up and counted (the rest are text). */
export const MENTIONS_MAX = 50;

/** What a message body mentions: `@username`s (lower-cased, at most MENTIONS_MAX) and `@room`. */
export interface MentionsIn {
  usernames: string[];
  room: boolean;
}

/** One `@name` of a body: where it is (`start` at the @, `end` exclusive) and the name, lower-cased. */
export interface MentionRange {
  start: number;
  end: number;
  /** Lower-cased, without the @; `room` for @room. */
  name: string;
}

// An @ that starts a word (not inside an e-mail address or another mention), then a name.
const MENTION = /(?<![\p{L}\p{N}_.@-])@([A-Za-z0-9_.-]{3,32})/gu;

/**
 * Every `@name` of a body, in order, as the write path reads them (so that a client highlights
 * exactly what the server parsed). A name followed by sentence punctuation ("@ann." or "@ann-")
 * means ann: the trailing dots and dashes are dropped when the name without them is a valid
 * username, and the range ends before them.
 */
export function mentionRanges(body: string): MentionRange[] {
  const out: MentionRange[] = [];
  for (const m of body.matchAll(MENTION)) {
    let raw = m[1]!;
    const trimmed = raw.replace(/[.-]+$/, '');
    if (trimmed !== raw && USERNAME_PATTERN.test(trimmed.toLowerCase())) raw = trimmed;
    const name = raw.toLowerCase();
    if (!USERNAME_PATTERN.test(name)) continue;
    out.push({ start: m.index, end: m.index + 1 + raw.length, name });
  }
  return out;
}

/**
 * The mentions of a body. `@room` mentions the whole room (so a person named "room" cannot be
 * mentioned alone).
 */
export function mentionsIn(body: string): MentionsIn {
  const usernames = new Set<string>();
  let room = false;
  for (const { name } of mentionRanges(body)) {
    if (name === 'room') room = true;
    else if (usernames.size < MENTIONS_MAX) usernames.add(name);
  }
  return { usernames: [...usernames], room };
}
