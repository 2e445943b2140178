import type { AppContext, View } from '../app.js';
import { h, replace } from '../dom.js';
import { describeError } from '../lib/errors.js';
import { highlight } from '../lib/highlight.js';
import { paths } from '../lib/routes.js';
import { formatFullTime, formatMessageTime } from '../lib/time.js';
import { SEARCH, type SearchHit, type SearchPage } from '../queries.js';
import { avatar } from './lobby.js';
import { roomIcon } from './room-list.js';

/** Hits per page (the API allows up to 50). */
const PAGE = 20;

/**
 * Search results for the words typed in the top bar, in all the person's rooms or one of them:
 * each hit's snippet with the matched words marked. Snippets are plain text from the server;
 * they become Text nodes and <mark> elements here (never HTML), so a body that looks like
 * markup shows as the characters it is.
 */
export function searchView(ctx: AppContext, query: string, room?: string): View {
  const q = query.trim();
  let destroyed = false;
  let hits: SearchHit[] = [];
  let cursor: string | null = null;

  const roomSelect = h('select', { id: 'search-room', name: 'room' });
  const status = h('p', { class: 'search-status', attrs: { role: 'status' } });
  const list = h('ol', { class: 'hits', attrs: { 'aria-label': 'Results' } });
  const more = h('button', { type: 'button', class: 'btn small', hidden: true }, 'More results');
  const error = h('p', { class: 'form-error', attrs: { role: 'alert' } });
  const el = h(
    'section',
    { class: 'search' },
    h('h1', { tabIndex: -1 }, q ? `Results for “${q}”` : 'Search'),
    h('div', { class: 'search-scope' }, h('label', { htmlFor: 'search-room' }, 'In'), roomSelect),
    status,
    list,
    more,
    error,
  );

  const renderScope = () => {
    const options = [h('option', { value: '', selected: !room }, 'All your rooms')];
    for (const r of ctx.inbox.rooms())
      options.push(
        h(
          'option',
          { value: r.id, selected: r.id === room },
          `${r.kind === 'PUBLIC' ? '#' : ''}${r.name}`,
        ),
      );
    // A room not (yet) in the list still shows as the scope it is.
    if (room && !ctx.inbox.has(room))
      options.push(h('option', { value: room, selected: true }, room));
    replace(roomSelect, ...options);
  };

  const snippet = (text: string) =>
    h(
      'p',
      { class: 'snippet' },
      ...highlight(text, q).map((s) => (s.match ? h('mark', {}, s.text) : s.text)),
    );

  const hitItem = (hit: SearchHit, now: Date) => {
    const m = hit.message;
    const r = ctx.inbox.get(m.room);
    return h(
      'li',
      { class: 'hit', attrs: { 'data-message': m.id } },
      h(
        'div',
        { class: 'hit-head' },
        h(
          'a',
          { class: 'hit-room', href: paths.room(m.room, r?.kind ?? 'PUBLIC') },
          roomIcon(r?.kind ?? 'PUBLIC'),
          r?.name ?? m.room,
        ),
        avatar(m.author),
        h('span', { class: 'author' }, m.author.displayName),
        h(
          'time',
          { dateTime: m.createdAt, title: formatFullTime(m.createdAt) },
          formatMessageTime(m.createdAt, now),
        ),
      ),
      snippet(hit.snippet),
    );
  };

  const render = () => {
    const now = new Date();
    replace(list, ...hits.map((hit) => hitItem(hit, now)));
    more.hidden = cursor === null;
  };

  const fetchPage = async () => {
    more.disabled = true;
    error.textContent = '';
    try {
      const { search } = await ctx.api.request<{ search: SearchPage }>(SEARCH, {
        query: q,
        room: room ?? null,
        after: cursor,
        limit: PAGE,
      });
      if (destroyed) return;
      hits = [...hits, ...search.hits];
      cursor = search.nextCursor;
      status.textContent = hits.length
        ? `${hits.length}${cursor ? '+' : ''} ${hits.length === 1 ? 'message' : 'messages'}`
        : `No messages match “${q}”.`;
      render();
    } catch (e) {
      if (destroyed) return;
      status.textContent = '';
      error.textContent = describeError(e);
    } finally {
      more.disabled = false;
    }
  };

  roomSelect.addEventListener('change', () =>
    ctx.navigate(paths.search(q, roomSelect.value || undefined), { replace: true }),
  );
  more.addEventListener('click', () => void fetchPage());
  // Room names come from the person's room list, which may arrive after the results.
  const offInbox = ctx.inbox.onChange(() => {
    renderScope();
    render();
  });
  renderScope();
  if (q) {
    status.textContent = 'Searching…';
    void fetchPage();
  } else {
    status.textContent =
      'Type words in the search box above: whole words, beginnings of words, or "a phrase" in quotes.';
  }

  return {
    el,
    title: q ? `Search: ${q}` : 'Search',
    destroy: () => {
      destroyed = true;
      offInbox();
    },
  };
}
