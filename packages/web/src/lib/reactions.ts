import type { Reaction } from './messages.js';

/** The picker's fixed choice (each a single grapheme the server accepts). */
export const COMMON_EMOJI = ['👍', '❤️', '😂', '🎉', '😮', '😢', '👀', '🙏'] as const;

/** How many reactors a message's reactions name (the API's `users(limit:)`). */
export const REACTORS_NAMED = 10;

/**
 * The reactions as the reader should see them while their own toggles are on the way: the
 * server's state with each wanted `reactedByMe` (emoji → wanted) applied on top, one more or one
 * fewer, an emoji nobody has left dropped. Most used first; ties keep the server's order (its
 * earliest first), an emoji new here goes last among its equals.
 */
export function withWanted(
  reactions: readonly Reaction[],
  wanted: ReadonlyMap<string, boolean>,
): Reaction[] {
  const out = reactions.map((r) => ({ ...r }));
  for (const [emoji, want] of wanted) {
    const r = out.find((x) => x.emoji === emoji);
    if (!r) {
      if (want) out.push({ emoji, count: 1, reactedByMe: true, users: [] });
    } else if (r.reactedByMe !== want) {
      r.count += want ? 1 : -1;
      r.reactedByMe = want;
    }
  }
  return out
    .filter((r) => r.count > 0)
    .map((r, i) => ({ r, i }))
    .sort((a, b) => b.r.count - a.r.count || a.i - b.i)
    .map(({ r }) => r);
}

/** "You and Ben reacted with 👍", "Ann, Ben and 3 others reacted with 🎉". */
export function describeReactors(r: Reaction, me: string): string {
  const named = r.users.filter((u) => u.id !== me).map((u) => u.displayName);
  if (r.reactedByMe) named.unshift('You');
  // Counted but not named: beyond the names asked for (or the reader's own, not yet in them).
  const others = Math.max(0, r.count - named.length);
  const names = others > 0 ? [...named, `${others} ${others === 1 ? 'other' : 'others'}`] : named;
  const list =
    names.length <= 1
      ? (names[0] ?? `${r.count}`)
      : `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`;
  return `${list} reacted with ${r.emoji}`;
}
