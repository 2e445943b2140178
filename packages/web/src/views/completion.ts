import { h, replace } from '../dom.js';
import { candidates, complete, completionAt, type Candidate } from '../lib/mentions.js';
import type { Person } from '../lib/messages.js';
import { avatar } from './lobby.js';

export interface CompletionDeps {
  /** The room's members (and anyone else who may be mentioned there). */
  people: () => Iterable<Person>;
  me: Person;
  /** Whether @room is offered (not in a private conversation of two). */
  room: () => boolean;
}

/**
 * @-completion for a textarea: typing `@` and letters offers the room's members (and @room) in a
 * list above the field; Up/Down move, Enter or Tab choose, Escape closes, a click chooses too.
 * Choosing puts `@username ` in place of the letters. The field is an ARIA combobox; the list's
 * names are Text nodes. Attach it before the field's own keydown handlers (Enter sends there):
 * keys the open list uses go no further.
 */
export function mentionCompletion(
  field: HTMLTextAreaElement,
  deps: CompletionDeps,
): { el: HTMLElement; close(): void } {
  const id = `${field.id}-mentions`;
  const list = h('ul', {
    id,
    class: 'mention-list',
    hidden: true,
    attrs: { role: 'listbox', 'aria-label': 'People to mention' },
  });
  field.setAttribute('role', 'combobox');
  field.setAttribute('aria-autocomplete', 'list');
  field.setAttribute('aria-controls', id);
  field.setAttribute('aria-expanded', 'false');
  let shown: Candidate[] = [];
  let active = 0;

  const close = () => {
    if (list.hidden) return;
    list.hidden = true;
    shown = [];
    field.setAttribute('aria-expanded', 'false');
    field.removeAttribute('aria-activedescendant');
  };

  const render = () => {
    replace(
      list,
      ...shown.map((c, i) =>
        h(
          'li',
          {
            id: `${id}-${i}`,
            class: `mention-option${i === active ? ' active' : ''}`,
            attrs: {
              role: 'option',
              'aria-selected': String(i === active),
              'data-username': c.kind === 'room' ? 'room' : c.person.username,
            },
            on: {
              // Before the field's blur: the field keeps focus and the caret.
              mousedown: (ev) => {
                ev.preventDefault();
                choose(i);
              },
            },
          },
          ...(c.kind === 'room'
            ? [
                h('span', { class: 'avatar room-avatar', attrs: { 'aria-hidden': 'true' } }, '@'),
                h('span', { class: 'person-name' }, '@room'),
                h('span', { class: 'handle' }, 'everyone here'),
              ]
            : [
                avatar(c.person),
                h('span', { class: 'person-name' }, c.person.displayName),
                h('span', { class: 'handle' }, `@${c.person.username}`),
              ]),
        ),
      ),
    );
    field.setAttribute('aria-activedescendant', `${id}-${active}`);
  };

  const update = () => {
    const at = completionAt(field.value, field.selectionStart ?? field.value.length);
    if (!at || field.selectionStart !== field.selectionEnd) return close();
    shown = candidates(at.query, deps.people(), deps.me.id, { room: deps.room() });
    if (!shown.length) return close();
    active = Math.min(active, shown.length - 1);
    list.hidden = false;
    field.setAttribute('aria-expanded', 'true');
    render();
  };

  const choose = (i: number) => {
    const c = shown[i];
    const caret = field.selectionStart ?? field.value.length;
    const at = completionAt(field.value, caret);
    if (!c || !at) return close();
    const next = complete(field.value, at, caret, c.kind === 'room' ? 'room' : c.person.username);
    field.value = next.text;
    field.setSelectionRange(next.caret, next.caret);
    close();
    // The field's own listeners (draft, height, typing) see the change as typed text.
    field.dispatchEvent(new Event('input', { bubbles: true }));
  };

  field.addEventListener('keydown', (ev) => {
    if (list.hidden || ev.isComposing) return;
    const move = (d: number) => {
      active = (active + d + shown.length) % shown.length;
      render();
    };
    switch (ev.key) {
      case 'ArrowDown':
        move(1);
        break;
      case 'ArrowUp':
        move(-1);
        break;
      case 'Enter':
      case 'Tab':
        if (ev.shiftKey) return;
        choose(active);
        break;
      case 'Escape':
        close();
        break;
      default:
        return;
    }
    ev.preventDefault();
    ev.stopImmediatePropagation();
  });
  field.addEventListener('input', () => {
    active = 0;
    update();
  });
  // The caret moved without typing (arrows, a click): the @word at it may differ.
  field.addEventListener('keyup', (ev) => {
    if (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight' || ev.key === 'Home' || ev.key === 'End')
      update();
  });
  field.addEventListener('click', update);
  field.addEventListener('blur', close);
  return { el: list, close };
}
