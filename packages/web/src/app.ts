import { Api } from './api.js';
import { h, replace } from './dom.js';
import { Inbox } from './inbox.js';
import { LiveConnection, type LiveStatus } from './live.js';
import { Drafts, MemoryStorage, type KeyValueStorage } from './lib/drafts.js';
import { parseRoute, paths, safeNext, type Route } from './lib/routes.js';
import { SessionStore, type Session } from './session.js';
import { lobbyView } from './views/lobby.js';
import { problemView } from './views/problem.js';
import { roomView } from './views/room.js';
import { searchView } from './views/search.js';
import { signInView } from './views/signin.js';

/** What a view gets: the signed-in person and the ways to talk to the server. */
export interface AppContext {
  readonly session: Session;
  readonly api: Api;
  readonly live: LiveConnection;
  /** The person's room list with unread counts, live (one `inbox` stream for the tab). */
  readonly inbox: Inbox;
  readonly drafts: Drafts;
  navigate(path: string, opts?: { replace?: boolean }): void;
}

/** A mounted page; `destroy` ends its subscriptions and timers. */
export interface View {
  readonly el: HTMLElement;
  readonly title: string;
  /** Moves focus where a person starts on this page (default: its h1). */
  focus?(): void;
  destroy(): void;
}

const NOTICE_KEY = 'conversa.notice';

function tabStorage(): KeyValueStorage {
  try {
    const s = window.sessionStorage;
    s.getItem('probe');
    return s;
  } catch {
    return new MemoryStorage(); // storage blocked: the session lasts until reload
  }
}

/** The single-page app: routing, the session, the shared connection, and the page frame. */
export class App {
  readonly #storage = tabStorage();
  readonly #sessions = new SessionStore(this.#storage);
  readonly #drafts = new Drafts(this.#storage);
  readonly #graphqlUrl = new URL('/graphql', location.href).href;
  readonly #wsUrl = this.#graphqlUrl.replace(/^http/, 'ws');
  #session: Session | null = null;
  #api: Api | null = null;
  #live: LiveConnection | null = null;
  #inbox: Inbox | null = null;
  #view: View | null = null;
  #statusEl: HTMLElement | null = null;
  #unreadEl: HTMLElement | null = null;
  #searchInput: HTMLInputElement | null = null;
  #main: HTMLElement | null = null;
  #expiring = false;

  constructor(private readonly root: HTMLElement) {}

  start(): void {
    window.addEventListener('popstate', () => this.#render());
    // Same-origin links navigate inside the app; modified clicks and other pages stay native.
    document.addEventListener('click', (ev) => {
      if (
        ev.defaultPrevented ||
        ev.button !== 0 ||
        ev.metaKey ||
        ev.ctrlKey ||
        ev.shiftKey ||
        ev.altKey
      )
        return;
      const a = (ev.target as Element | null)?.closest?.('a');
      if (!a || a.target || a.hasAttribute('download') || a.dataset.native !== undefined) return;
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || parseRoute(url.pathname).name === 'notFound') return;
      ev.preventDefault();
      this.navigate(url.pathname + url.search);
    });
    this.#session = this.#sessions.load();
    this.#render();
  }

  navigate(path: string, opts: { replace?: boolean } = {}): void {
    if (path !== location.pathname + location.search) {
      if (opts.replace) history.replaceState(null, '', path);
      else history.pushState(null, '', path);
    }
    this.#render();
  }

  #render(): void {
    const route = parseRoute(location.pathname);
    if (route.name === 'signin') {
      if (this.#session) {
        this.navigate(safeNext(new URLSearchParams(location.search).get('next')), {
          replace: true,
        });
        return;
      }
      this.#mountBare(
        signInView({
          api: new Api(
            this.#graphqlUrl,
            () => null,
            () => undefined,
          ),
          notice: this.#takeNotice(),
          onSignedIn: (s) => this.#signedIn(s),
        }),
      );
      return;
    }
    const session = this.#session ?? this.#sessions.load();
    if (!session) {
      this.navigate(paths.signin(location.pathname), { replace: true });
      return;
    }
    this.#session = session;
    const ctx = this.#context(session);
    this.#mountInFrame(this.#viewFor(route, ctx));
  }

  #viewFor(route: Route, ctx: AppContext): View {
    switch (route.name) {
      case 'lobby':
        return lobbyView(ctx);
      case 'room':
        return roomView(ctx, route.id, 'room');
      case 'dm':
        return roomView(ctx, route.id, 'dm');
      case 'search': {
        const q = new URLSearchParams(location.search);
        return searchView(ctx, q.get('q') ?? '', q.get('room') ?? undefined);
      }
      case 'signin':
      case 'notFound':
        return problemView(
          'Page not found',
          'There is nothing at this address. Rooms live at /room/<name>, private conversations at /dm/<id>.',
        );
    }
  }

  #context(session: Session): AppContext {
    if (!this.#api || !this.#live || !this.#inbox) {
      this.#api = new Api(
        this.#graphqlUrl,
        () => this.#session?.token ?? null,
        () => this.#expire(),
      );
      this.#live = new LiveConnection(this.#wsUrl, session.token, () => this.#expire());
      this.#live.onStatus((s) => this.#showStatus(s));
      this.#inbox = new Inbox(this.#api, this.#live);
      this.#inbox.onChange(() => this.#showUnread());
      // Subscribed before the socket opens: the inbox reads its pages once it is connected.
      this.#inbox.start();
      this.#live.start();
    }
    return {
      session,
      api: this.#api,
      live: this.#live,
      inbox: this.#inbox,
      drafts: this.#drafts,
      navigate: (p, o) => this.navigate(p, o),
    };
  }

  #signedIn(s: Session): void {
    this.#sessions.save(s);
    this.#session = s;
    this.#expiring = false;
    this.navigate(safeNext(new URLSearchParams(location.search).get('next')), { replace: true });
  }

  #endSession(): void {
    this.#view?.destroy();
    this.#view = null;
    this.#inbox?.stop();
    this.#inbox = null;
    this.#live?.stop();
    this.#live = null;
    this.#api = null;
    this.#session = null;
    this.#sessions.clear();
    this.#main = null;
    this.#statusEl = null;
    this.#unreadEl = null;
    this.#searchInput = null;
  }

  #signOut(): void {
    this.#endSession();
    this.#drafts.clearAll();
    this.navigate(paths.signin(), { replace: false });
  }

  /** The token was refused (HTTP UNAUTHENTICATED or socket closed 4403): sign in again, drafts kept. */
  #expire(): void {
    if (this.#expiring) return;
    this.#expiring = true;
    const here = location.pathname;
    // Views keep their drafts in sessionStorage as people type; destroy() saves the last keystrokes.
    this.#endSession();
    try {
      this.#storage.setItem(NOTICE_KEY, 'expired');
    } catch {
      // the notice is a courtesy
    }
    this.navigate(paths.signin(here), { replace: true });
  }

  #takeNotice(): string | null {
    try {
      const n = this.#storage.getItem(NOTICE_KEY);
      this.#storage.removeItem(NOTICE_KEY);
      return n === 'expired'
        ? 'Your session has expired. Sign in again to carry on — anything you were typing is kept.'
        : null;
    } catch {
      return null;
    }
  }

  #mountBare(view: View): void {
    this.#view?.destroy();
    this.#main = null;
    this.#statusEl = null;
    this.#view = view;
    replace(this.root, view.el);
    this.#afterMount(view);
  }

  #mountInFrame(view: View): void {
    this.#view?.destroy();
    this.#view = view;
    if (!this.#main || !this.root.contains(this.#main)) this.#buildFrame();
    replace(this.#main!, view.el);
    if (this.#searchInput)
      this.#searchInput.value =
        parseRoute(location.pathname).name === 'search'
          ? (new URLSearchParams(location.search).get('q') ?? '')
          : '';
    this.#afterMount(view);
  }

  #afterMount(view: View): void {
    document.title = view.title ? `${view.title} · conversa` : 'conversa';
    if (view.focus) view.focus();
    else view.el.querySelector<HTMLElement>('h1')?.focus();
  }

  #buildFrame(): void {
    const session = this.#session!;
    this.#statusEl = h('div', { class: 'conn', attrs: { role: 'status', 'aria-live': 'polite' } });
    this.#unreadEl = h('span', { class: 'unread-total', hidden: true });
    this.#main = h('main', { id: 'main', class: 'main' });
    const searchInput = h('input', {
      type: 'search',
      name: 'q',
      required: true,
      maxLength: 200,
      placeholder: 'Search messages',
      autocomplete: 'off',
      attrs: { 'aria-label': 'Search messages' },
    });
    this.#searchInput = searchInput;
    const search = h(
      'form',
      {
        class: 'search-box',
        attrs: { role: 'search' },
        on: {
          submit: (ev) => {
            ev.preventDefault();
            const q = searchInput.value.trim();
            if (q) this.navigate(paths.search(q));
          },
        },
      },
      searchInput,
      h('button', { type: 'submit', class: 'btn small' }, 'Search'),
    );
    const header = h(
      'header',
      { class: 'topbar' },
      h(
        'a',
        { class: 'brand', href: paths.lobby() },
        h('span', { class: 'brand-mark', attrs: { 'aria-hidden': 'true' } }, 'c'),
        'conversa',
        this.#unreadEl,
      ),
      search,
      this.#statusEl,
      h(
        'nav',
        { class: 'topnav', attrs: { 'aria-label': 'Account' } },
        h(
          'a',
          { class: 'ide-link', href: '/graphql', attrs: { 'data-native': '' } },
          'GraphQL IDE',
        ),
        h('span', { class: 'me', title: `@${session.user.username}` }, session.user.displayName),
        h(
          'button',
          { type: 'button', class: 'btn ghost', on: { click: () => this.#signOut() } },
          'Sign out',
        ),
      ),
    );
    const skip = h(
      'a',
      { class: 'skip', href: '#main', attrs: { 'data-native': '' } },
      'Skip to content',
    );
    replace(this.root, skip, header, this.#main);
    this.#showStatus(this.#live?.status ?? 'connecting');
    this.#showUnread();
  }

  /** The unread total of every room beside the brand (which leads to the room list). */
  #showUnread(): void {
    const el = this.#unreadEl;
    if (!el || !this.#inbox) return;
    const { unread, mentions } = this.#inbox.totals();
    el.hidden = unread === 0;
    el.textContent = unread > 99 ? '99+' : String(unread);
    el.title = `${unread} unread${mentions ? `, ${mentions} mentioning you` : ''}`;
  }

  #showStatus(s: LiveStatus): void {
    const el = this.#statusEl;
    if (!el) return;
    el.dataset.state = s;
    switch (s) {
      case 'reconnecting':
        el.textContent = 'Reconnecting…';
        break;
      case 'connecting':
        el.textContent = 'Connecting…';
        break;
      case 'online':
      case 'expired':
      case 'stopped':
        el.textContent = '';
        break;
    }
  }
}
