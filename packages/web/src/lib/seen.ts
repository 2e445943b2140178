import type { Person } from './messages.js';

/** A member's read position, as `readBy` and `readReceipts` give it. */
export interface Receipt {
  user: Person;
  lastReadSeq: number;
  at: string;
}

/** "Seen by" is shown in rooms of at most this many members (beyond, it says little). */
export const SEEN_BY_MAX_MEMBERS = 20;

/**
 * Who has read the message `seq` of `author`: the others whose read position reached it, the
 * author left out (writing a message moves its author's position to it), the latest reader
 * first. Positions never move back, so the newest receipt of each person is the one that counts.
 */
export function seenBy(receipts: Iterable<Receipt>, seq: number, author: string): Person[] {
  return [...receipts]
    .filter((r) => r.lastReadSeq >= seq && r.user.id !== author)
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at))
    .map((r) => r.user);
}

/** "Seen by Ben", "Seen by Ben and Cat", "Seen by Ben, Cat and Dee", "Seen by Ben, Cat and 2 others"; '' for nobody. */
export function describeSeen(people: readonly Pick<Person, 'displayName'>[]): string {
  const names = people.map((p) => p.displayName);
  const [a, b, c] = names;
  if (a === undefined) return '';
  if (b === undefined) return `Seen by ${a}`;
  if (c === undefined) return `Seen by ${a} and ${b}`;
  if (names.length === 3) return `Seen by ${a}, ${b} and ${c}`;
  return `Seen by ${a}, ${b} and ${names.length - 2} others`;
}
