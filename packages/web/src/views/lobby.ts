import type { AppContext, View } from '../app.js';
import { h, replace } from '../dom.js';
import { describeError } from '../lib/errors.js';
import type { Person } from '../lib/messages.js';
import { paths } from '../lib/routes.js';
import { JOIN_ROOM, LOBBY, ONLINE, OPEN_DIRECT, type RoomSummary } from '../queries.js';

/** How often the people-online list refreshes while the lobby is open, ms (5 s). */
const ONLINE_REFRESH_MS = 5_000;

export function avatar(p: Pick<Person, 'displayName' | 'id'>): HTMLElement {
  // A stable hue per person, so the same person always has the same colour.
  let hash = 0;
  for (const ch of p.id) hash = (hash * 31 + ch.charCodeAt(0)) >>> 0;
  const el = h(
    'span',
    { class: `avatar hue-${hash % 8}`, attrs: { 'aria-hidden': 'true' } },
    (p.displayName.trim()[0] ?? '?').toUpperCase(),
  );
  return el;
}

/** The lobby: your rooms, public rooms, a box to join or create one, and who is online. */
export function lobbyView(ctx: AppContext): View {
  const me = ctx.session.user;
  let destroyed = false;

  const nameInput = h('input', {
    id: 'join-name',
    name: 'name',
    required: true,
    maxLength: 100,
    placeholder: 'e.g. general',
    autocomplete: 'off',
  });
  const joinError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const joinButton = h('button', { type: 'submit', class: 'btn primary' }, 'Join');
  const joinForm = h(
    'form',
    {
      class: 'join',
      on: {
        submit: (ev) => {
          ev.preventDefault();
          void join(nameInput.value);
        },
      },
    },
    h('label', { htmlFor: 'join-name' }, 'Join or create a room'),
    h('div', { class: 'row' }, nameInput, joinButton),
    joinError,
  );

  const myRooms = h('ul', { class: 'room-list', attrs: { 'aria-labelledby': 'your-rooms' } });
  const publicRooms = h('ul', { class: 'room-list', attrs: { 'aria-labelledby': 'public-rooms' } });
  const people = h('ul', { class: 'people', attrs: { 'aria-labelledby': 'people-online' } });
  const loadError = h('p', { class: 'form-error', attrs: { role: 'alert' } });

  const el = h(
    'section',
    { class: 'lobby' },
    h('h1', { tabIndex: -1 }, `Hello, ${me.displayName}`),
    joinForm,
    loadError,
    h(
      'div',
      { class: 'lobby-grid' },
      h('section', { class: 'card' }, h('h2', { id: 'your-rooms' }, 'Your rooms'), myRooms),
      h('section', { class: 'card' }, h('h2', { id: 'public-rooms' }, 'Public rooms'), publicRooms),
      h(
        'section',
        { class: 'card people-card' },
        h('h2', { id: 'people-online' }, 'People online'),
        people,
      ),
    ),
  );

  const join = async (name: string) => {
    if (!name.trim()) return;
    joinButton.disabled = true;
    joinError.textContent = '';
    try {
      const { joinRoom } = await ctx.api.request<{
        joinRoom: { id: string; kind: 'PUBLIC' | 'DIRECT' };
      }>(JOIN_ROOM, { name: name.trim() });
      ctx.navigate(paths.room(joinRoom.id, joinRoom.kind));
    } catch (e) {
      if (!destroyed) joinError.textContent = describeError(e);
    } finally {
      joinButton.disabled = false;
    }
  };

  const openDirect = async (p: Person, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      const { openDirectRoom } = await ctx.api.request<{ openDirectRoom: { id: string } }>(
        OPEN_DIRECT,
        { userId: p.id },
      );
      ctx.navigate(paths.room(openDirectRoom.id, 'DIRECT'));
    } catch (e) {
      if (!destroyed) loadError.textContent = describeError(e);
      button.disabled = false;
    }
  };

  const roomItem = (r: RoomSummary, action?: HTMLElement) =>
    h(
      'li',
      {},
      h(
        'a',
        { class: 'room-link', href: paths.room(r.id, r.kind) },
        h(
          'span',
          { class: 'room-icon', attrs: { 'aria-hidden': 'true' } },
          r.kind === 'DIRECT' ? '@' : '#',
        ),
        h('span', { class: 'room-name' }, r.name),
        r.kind === 'DIRECT' ? h('span', { class: 'badge' }, 'private') : null,
        h('span', { class: 'meta' }, r.lastSeq === 1 ? '1 message' : `${r.lastSeq} messages`),
      ),
      action,
    );

  const renderRooms = (rooms: RoomSummary[]) => {
    const mine = rooms.filter((r) => r.kind === 'DIRECT' || r.members.some((m) => m.id === me.id));
    const others = rooms.filter(
      (r) => r.kind === 'PUBLIC' && !r.members.some((m) => m.id === me.id),
    );
    replace(
      myRooms,
      ...(mine.length
        ? mine.map((r) => roomItem(r))
        : [h('li', { class: 'empty' }, 'No rooms yet. Join a public room, or create one above.')]),
    );
    replace(
      publicRooms,
      ...(others.length
        ? others.map((r) =>
            roomItem(
              r,
              h(
                'button',
                {
                  type: 'button',
                  class: 'btn small',
                  attrs: { 'aria-label': `Join ${r.name}` },
                  on: { click: () => void join(r.name) },
                },
                'Join',
              ),
            ),
          )
        : [h('li', { class: 'empty' }, 'No other public rooms.')]),
    );
  };

  const renderPeople = (users: Person[]) => {
    const sorted = [...users].sort((a, b) =>
      a.id === me.id ? -1 : b.id === me.id ? 1 : a.displayName.localeCompare(b.displayName),
    );
    if (!sorted.some((u) => u.id === me.id)) sorted.unshift(me);
    replace(
      people,
      ...sorted.map((u) => {
        const li = h(
          'li',
          { class: 'person' },
          avatar(u),
          h(
            'span',
            { class: 'person-name' },
            u.displayName,
            h('span', { class: 'handle' }, `@${u.username}`),
          ),
        );
        if (u.id === me.id) li.append(h('span', { class: 'you' }, 'you'));
        else {
          const b = h(
            'button',
            {
              type: 'button',
              class: 'btn small',
              attrs: { 'aria-label': `Message ${u.displayName}` },
            },
            'Message',
          );
          b.addEventListener('click', () => void openDirect(u, b));
          li.append(b);
        }
        return li;
      }),
    );
  };

  const load = async () => {
    try {
      const d = await ctx.api.request<{ rooms: RoomSummary[]; users: Person[] }>(LOBBY);
      if (destroyed) return;
      loadError.textContent = '';
      renderRooms(d.rooms);
      renderPeople(d.users);
    } catch (e) {
      if (!destroyed) loadError.textContent = describeError(e);
    }
  };
  const refreshOnline = async () => {
    try {
      const d = await ctx.api.request<{ users: Person[] }>(ONLINE);
      if (!destroyed) renderPeople(d.users);
    } catch {
      // the next tick tries again; the reconnect banner explains a lost connection
    }
  };

  replace(myRooms, h('li', { class: 'empty' }, 'Loading…'));
  void load();
  const timer = setInterval(() => void refreshOnline(), ONLINE_REFRESH_MS);
  const offStatus = ctx.live.onStatus((s, prev) => {
    if (s === 'online' && prev === 'reconnecting') void load();
  });

  return {
    el,
    title: 'Lobby',
    destroy: () => {
      destroyed = true;
      clearInterval(timer);
      offStatus();
    },
  };
}
