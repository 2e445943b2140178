import type { AppContext, View } from '../app.js';
import { h, replace } from '../dom.js';
import { describeError } from '../lib/errors.js';
import type { Person } from '../lib/messages.js';
import { paths } from '../lib/routes.js';
import { parseUsernames, resolveUsernames } from '../lib/usernames.js';
import {
  CREATE_GROUP,
  EVERYONE,
  JOIN_ROOM,
  LOBBY,
  ONLINE,
  OPEN_DIRECT,
  type RoomKind,
  type RoomSummary,
} from '../queries.js';
import { inboxItem, roomIcon } from './room-list.js';

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

/** Everyone the server knows, to turn typed usernames into ids (there is no look-up by name). */
export async function findPeople(
  ctx: AppContext,
  text: string,
): Promise<{ found: Person[]; unknown: string[] }> {
  const names = parseUsernames(text);
  if (names.length === 0) return { found: [], unknown: [] };
  const { users } = await ctx.api.request<{ users: Person[] }>(EVERYONE);
  return resolveUsernames(names, users);
}

/** "No one is called @zed." for the usernames nobody has. */
export function unknownPeople(unknown: readonly string[]): string {
  return `No one is called ${unknown.map((u) => `@${u}`).join(', ')}.`;
}

/**
 * The lobby: your rooms by recent activity with their unread badges and mention markers (the
 * tab's live inbox), a box to join or create a public room, a form for a new group, the public
 * rooms you are not in, and who is online.
 */
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

  const myRooms = h('ul', {
    class: 'room-list inbox',
    attrs: { 'aria-labelledby': 'your-rooms' },
  });
  const publicRooms = h('ul', { class: 'room-list', attrs: { 'aria-labelledby': 'public-rooms' } });
  const people = h('ul', { class: 'people', attrs: { 'aria-labelledby': 'people-online' } });
  const loadError = h('p', { class: 'form-error', attrs: { role: 'alert' } });

  const groupName = h('input', {
    id: 'group-name',
    name: 'name',
    required: true,
    maxLength: 64,
    placeholder: 'e.g. Book club',
    autocomplete: 'off',
  });
  const groupPeople = h('input', {
    id: 'group-people',
    name: 'people',
    placeholder: 'e.g. ben, cat',
    autocomplete: 'off',
    attrs: { 'aria-describedby': 'group-people-hint', list: 'known-people' },
  });
  const knownPeople = h('datalist', { id: 'known-people' });
  const groupError = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const groupButton = h('button', { type: 'submit', class: 'btn primary' }, 'Create group');
  const groupForm = h(
    'form',
    {
      class: 'card new-group',
      attrs: { 'aria-labelledby': 'new-group' },
      on: {
        submit: (ev) => {
          ev.preventDefault();
          void createGroup();
        },
      },
    },
    h('h2', { id: 'new-group' }, 'New group'),
    h('div', { class: 'field' }, h('label', { htmlFor: 'group-name' }, 'Group name'), groupName),
    h(
      'div',
      { class: 'field' },
      h('label', { htmlFor: 'group-people' }, 'People'),
      groupPeople,
      h(
        'p',
        { class: 'field-hint', id: 'group-people-hint' },
        'Usernames, separated by commas. Only the people you add can read a group.',
      ),
    ),
    knownPeople,
    groupError,
    h('div', {}, groupButton),
  );

  const el = h(
    'section',
    { class: 'lobby' },
    h('h1', { tabIndex: -1 }, `Hello, ${me.displayName}`),
    joinForm,
    loadError,
    h(
      'div',
      { class: 'lobby-grid' },
      h(
        'section',
        { class: 'card inbox-card' },
        h('h2', { id: 'your-rooms' }, 'Your rooms'),
        myRooms,
      ),
      h('section', { class: 'card' }, h('h2', { id: 'public-rooms' }, 'Public rooms'), publicRooms),
      h(
        'section',
        { class: 'card people-card' },
        h('h2', { id: 'people-online' }, 'People online'),
        people,
      ),
      groupForm,
    ),
  );

  const createGroup = async () => {
    const name = groupName.value.trim();
    if (!name) return;
    groupButton.disabled = true;
    groupError.textContent = '';
    try {
      const { found, unknown } = await findPeople(ctx, groupPeople.value);
      if (destroyed) return;
      if (unknown.length) {
        groupError.textContent = unknownPeople(unknown);
        groupPeople.focus();
        return;
      }
      const { createGroup } = await ctx.api.request<{
        createGroup: { id: string; kind: RoomKind };
      }>(CREATE_GROUP, { name, members: found.filter((p) => p.id !== me.id).map((p) => p.id) });
      ctx.navigate(paths.room(createGroup.id, createGroup.kind));
    } catch (e) {
      if (!destroyed) groupError.textContent = describeError(e);
    } finally {
      groupButton.disabled = false;
    }
  };

  const join = async (name: string) => {
    if (!name.trim()) return;
    joinButton.disabled = true;
    joinError.textContent = '';
    try {
      const { joinRoom } = await ctx.api.request<{
        joinRoom: { id: string; kind: RoomKind };
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

  const publicItem = (r: RoomSummary) =>
    h(
      'li',
      {},
      h(
        'a',
        { class: 'room-link', href: paths.room(r.id, r.kind) },
        roomIcon(r.kind),
        h('span', { class: 'room-name' }, r.name),
        h('span', { class: 'meta' }, r.lastSeq === 1 ? '1 message' : `${r.lastSeq} messages`),
      ),
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
    );

  /** Your rooms: the tab's inbox, live (an event re-renders the list). */
  const renderMine = () => {
    if (!ctx.inbox.loaded) return;
    const mine = ctx.inbox.rooms();
    const now = new Date();
    replace(
      myRooms,
      ...(mine.length
        ? mine.map((r) => inboxItem(r, me, now))
        : [h('li', { class: 'empty' }, 'No rooms yet. Join a public room, or create one above.')]),
    );
  };

  let listedRooms: RoomSummary[] | null = null;
  const renderPublic = () => {
    // Rooms you are in are under "Your rooms": wait for that list to know which they are.
    if (!listedRooms || !ctx.inbox.loaded) return;
    const others = listedRooms.filter((r) => r.kind === 'PUBLIC' && !ctx.inbox.has(r.id));
    replace(
      publicRooms,
      ...(others.length
        ? others.map(publicItem)
        : [h('li', { class: 'empty' }, 'No other public rooms.')]),
    );
  };

  const renderPeople = (users: Person[]) => {
    const sorted = [...users].sort((a, b) =>
      a.id === me.id ? -1 : b.id === me.id ? 1 : a.displayName.localeCompare(b.displayName),
    );
    if (!sorted.some((u) => u.id === me.id)) sorted.unshift(me);
    replace(
      knownPeople,
      ...sorted.filter((u) => u.id !== me.id).map((u) => h('option', { value: u.username })),
    );
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
      listedRooms = d.rooms;
      renderPublic();
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
  renderMine();
  void load();
  const offInbox = ctx.inbox.onChange(() => {
    renderMine();
    renderPublic();
  });
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
      offInbox();
    },
  };
}
