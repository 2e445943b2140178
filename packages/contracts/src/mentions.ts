import { USERNAME_PATTERN } from './domain.js';

/** How many distinct @usernames of one message are looked up and counted (the rest are text). */
export const MENTIONS_MAX = 50;

/** What a message body mentions: `@username`s (lower-cased, at most MENTIONS_MAX) and `@room`. */
export interface MentionsIn {
  usernames: string[];
  room: boolean;
}

// An @ that starts a word (not inside an e-mail address or another mention), then a name.
const MENTION = /(?<![\p{L}\p{N}_.@-])@([A-Za-z0-9_.-]{3,32})/gu;

/**
 * The mentions of a body. `@room` mentions the whole room (so a person named "room" cannot be
 * mentioned alone). A name followed by sentence punctuation ("@ann." or "@ann-") means ann: the
 * trailing dots and dashes are dropped when the name without them is a valid username.
 */
export function mentionsIn(body: string): MentionsIn {
  const usernames = new Set<string>();
  let room = false;
  for (const m of body.matchAll(MENTION)) {
    let name = m[1]!.toLowerCase();
    const trimmed = name.replace(/[.-]+$/, '');
    if (trimmed !== name && USERNAME_PATTERN.test(trimmed)) name = trimmed;
    if (name === 'room') {
      room = true;
      continue;
    }
    if (USERNAME_PATTERN.test(name) && usernames.size < MENTIONS_MAX) usernames.add(name);
  }
  return { usernames: [...usernames], room };
}
