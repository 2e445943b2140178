import { h, replace } from '../dom.js';
import type { ChatMessage, Person } from '../lib/messages.js';
import { pinnedLabel, type PinnedList } from '../lib/pins.js';
import { formatFullTime, formatMessageTime } from '../lib/time.js';
import { avatar } from './lobby.js';
import { messageBody } from './message-parts.js';

export interface PinsDeps {
  me: Person;
  /** The room's pinned messages (newest pin first), kept by the room from its streams. */
  list: PinnedList;
  /** Whether the reader may pin and unpin here (the server's rule, mirrored). */
  canPin: () => boolean;
  /**
   * Shows the message in the room (scrolled to and highlighted in the log, or its thread
   * opened); false when it is not loaded here.
   */
  show: (m: ChatMessage) => boolean;
  /** Unpins; rejects with an Error whose message is the server's refusal, as a sentence. */
  unpin: (m: ChatMessage) => Promise<void>;
}

/**
 * The room's pinned messages: a "Pinned (n)" control for the room's header and the list it
 * opens over the log (`pinnedMessages`, then live: the room applies `messageUpdated`, which
 * carries `pinned`, and calls `render`). Each entry shows its author and body as text (the body
 * through `messageBody`: Text nodes and mention spans); choosing one shows the message in the
 * room; those who may pin can unpin from here.
 */
export function pinsPanel(deps: PinsDeps) {
  const { me, list } = deps;
  const toggle = h(
    'button',
    {
      type: 'button',
      class: 'btn small pinned-toggle',
      attrs: { 'aria-expanded': 'false', 'aria-controls': 'pinned-panel' },
    },
    pinnedLabel(0),
  );
  const heading = h('h2', { id: 'pinned-heading', tabIndex: -1 }, 'Pinned messages');
  const closeButton = h(
    'button',
    { type: 'button', class: 'btn ghost small', attrs: { 'aria-label': 'Close pinned messages' } },
    '✕',
  );
  const status = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const items = h('ol', { class: 'pinned-list', attrs: { 'aria-label': 'Pinned messages' } });
  const empty = h('p', { class: 'hint pinned-empty' }, 'No pinned messages yet.');
  const el = h(
    'section',
    {
      class: 'pinned-panel',
      id: 'pinned-panel',
      hidden: true,
      attrs: { 'aria-labelledby': 'pinned-heading' },
      on: {
        keydown: (ev) => {
          if (ev.key === 'Escape' && !ev.defaultPrevented) {
            ev.preventDefault();
            close(true);
          }
        },
      },
    },
    h('header', { class: 'pinned-head' }, heading, closeButton),
    status,
    items,
    empty,
  );
  toggle.addEventListener('click', () => (el.hidden ? open() : close(true)));
  closeButton.addEventListener('click', () => close(true));

  const timeEl = (iso: string) =>
    h('time', { dateTime: iso, title: formatFullTime(iso) }, formatMessageTime(iso, new Date()));

  const entry = (m: ChatMessage): HTMLLIElement => {
    const li = h('li', {
      class: 'pinned-item',
      attrs: { 'data-message': m.id },
    });
    li.append(
      h(
        'button',
        {
          type: 'button',
          class: 'pinned-open',
          title: 'Show in the room',
          on: {
            click: () => {
              if (deps.show(m)) close(false);
              else
                status.textContent = m.parentId
                  ? 'This reply’s thread is not loaded here.'
                  : 'This message is further up in the room: load earlier messages to see it.';
            },
          },
        },
        h(
          'span',
          { class: 'msg-head' },
          avatar(m.author),
          h('span', { class: 'author' }, m.author.displayName),
          timeEl(m.createdAt),
          m.parentId ? h('span', { class: 'pinned-reply' }, 'in a thread') : null,
        ),
        messageBody(m, me, 'span'),
      ),
    );
    if (deps.canPin()) {
      const b = h(
        'button',
        {
          type: 'button',
          class: 'btn tiny',
          attrs: {
            'data-action': 'unpin',
            'aria-label': `Unpin: ${m.body.slice(0, 40)}`,
          },
        },
        'Unpin',
      );
      b.addEventListener('click', () => {
        b.disabled = true;
        status.textContent = '';
        deps.unpin(m).then(
          () => heading.focus(),
          (e: unknown) => {
            b.disabled = false;
            status.textContent = e instanceof Error ? e.message : String(e);
          },
        );
      });
      li.append(b);
    }
    return li;
  };

  function render(): void {
    replace(toggle, pinnedLabel(list.size));
    toggle.classList.toggle('has-pins', list.size > 0);
    if (el.hidden) return;
    replace(items, ...list.items.map(entry));
    empty.hidden = list.size > 0;
  }

  function open(): void {
    status.textContent = '';
    el.hidden = false;
    toggle.setAttribute('aria-expanded', 'true');
    render();
    heading.focus();
  }

  /** Closes the list; with `refocus`, focus goes back to its control in the header. */
  function close(refocus: boolean): void {
    if (el.hidden) return;
    el.hidden = true;
    toggle.setAttribute('aria-expanded', 'false');
    if (refocus) toggle.focus();
  }

  return {
    /** The header's "Pinned (n)" control. */
    toggle,
    /** The list, for the log's wrapper (shown over the log). */
    el,
    render,
    /** Shows a sentence in the list (a refusal from the server). */
    error(text: string) {
      status.textContent = text;
    },
    get open() {
      return !el.hidden;
    },
  };
}

export type PinsPanel = ReturnType<typeof pinsPanel>;
