import { h } from '../dom.js';
import type { Person } from '../lib/messages.js';
import { paths } from '../lib/routes.js';
import { formatMessageTime } from '../lib/time.js';
import type { InboxRoom, RoomKind } from '../queries.js';

/** The glyph before a room's name: # public, @ direct, ◆ group. */
export function roomIcon(kind: RoomKind): HTMLElement {
  return h(
    'span',
    { class: 'room-icon', attrs: { 'aria-hidden': 'true' } },
    kind === 'DIRECT' ? '@' : kind === 'GROUP' ? '◆' : '#',
  );
}

const count = (n: number) => (n > 99 ? '99+' : String(n));

/**
 * One room of the person's list: name, newest message, and when there is something to read,
 * the unread badge (a count) and the mention marker (@). Screen readers get the counts in words.
 */
export function inboxItem(r: InboxRoom, me: Person, now = new Date()): HTMLLIElement {
  const last = r.lastMessage;
  const said = [
    r.unread ? `${r.unread} unread` : '',
    r.mentions ? `${r.mentions} mentioning you` : '',
  ].filter(Boolean);
  return h(
    'li',
    { class: `inbox-item${r.unread ? ' has-unread' : ''}`, attrs: { 'data-room': r.id } },
    h(
      'a',
      { class: 'room-link', href: paths.room(r.id, r.kind) },
      roomIcon(r.kind),
      h(
        'span',
        { class: 'room-text' },
        h('span', { class: 'room-name' }, r.name),
        h(
          'span',
          { class: 'preview' },
          last
            ? `${last.author.id === me.id ? 'You' : last.author.displayName}: ${last.body}`
            : 'No messages yet',
        ),
      ),
      last
        ? h(
            'time',
            { class: 'meta', dateTime: last.createdAt },
            formatMessageTime(last.createdAt, now),
          )
        : null,
      r.mentions
        ? h(
            'span',
            {
              class: 'mention-badge',
              title: `${r.mentions} mentioning you`,
              attrs: { 'aria-hidden': 'true' },
            },
            '@',
          )
        : null,
      r.unread
        ? h(
            'span',
            {
              class: 'unread-badge',
              title: `${r.unread} unread`,
              attrs: { 'aria-hidden': 'true' },
            },
            count(r.unread),
          )
        : null,
      said.length ? h('span', { class: 'sr-only' }, `, ${said.join(', ')}`) : null,
    ),
  );
}
