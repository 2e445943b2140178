import type { Api } from './api.js';
import { InboxState } from './lib/inbox-state.js';
import { reconnectDelay } from './lib/timing.js';
import type { LiveConnection } from './live.js';
import { INBOX, INBOX_EVENTS, type InboxEvent, type InboxPage, type InboxRoom } from './queries.js';

/** Rooms per `inbox` page (the API's most). */
const PAGE = 200;
/** Pages read at most, so a person in very many rooms still gets a list: 1,000 rooms. */
const MAX_PAGES = 5;

/**
 * The tab's room list with unread counts and mentions, kept live by the ONE `inbox`
 * subscription of the person (not one per room). It subscribes first and reads the `inbox`
 * pages each time the socket is (re)connected, as the schema prescribes for exactness after a
 * reconnect: the events that come during the read are applied after its pages (InboxState).
 */
export class Inbox {
  readonly #state = new InboxState();
  readonly #changeListeners = new Set<() => void>();
  readonly #eventListeners = new Set<(e: InboxEvent) => void>();
  readonly #offs: (() => void)[] = [];
  #read = 0;
  #retries = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    private readonly api: Api,
    private readonly live: LiveConnection,
  ) {}

  start(): void {
    this.#offs.push(
      this.live.subscribe<{ inbox: InboxEvent }>({
        query: INBOX_EVENTS,
        variables: () => ({}),
        next: (d) => this.#event(d.inbox),
      }),
      // The subscription is (re)sent as the socket connects: read the pages once it is up.
      this.live.onStatus((s) => {
        if (s === 'online') void this.#readAll();
      }),
    );
    if (this.live.status === 'online') void this.#readAll();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    for (const off of this.#offs.splice(0)) off();
    this.#changeListeners.clear();
    this.#eventListeners.clear();
  }

  /** True once the whole list has been read. */
  get loaded(): boolean {
    return this.#state.loaded;
  }

  /** The rooms, most recent activity first. */
  rooms(): InboxRoom[] {
    return this.#state.rooms();
  }

  get(id: string): InboxRoom | undefined {
    return this.#state.get(id);
  }

  has(id: string): boolean {
    return this.#state.has(id);
  }

  /** Unread messages and mentions in all rooms, or in all but `except` (the room on screen). */
  totals(except?: string): { unread: number; mentions: number } {
    return this.#state.totals(except);
  }

  /** Calls `fn` whenever the list changes; returns the function that stops it. */
  onChange(fn: () => void): () => void {
    this.#changeListeners.add(fn);
    return () => this.#changeListeners.delete(fn);
  }

  /** Calls `fn` with every event as it arrives (a room view follows its own room's). */
  onEvent(fn: (e: InboxEvent) => void): () => void {
    this.#eventListeners.add(fn);
    return () => this.#eventListeners.delete(fn);
  }

  #event(e: InboxEvent): void {
    for (const fn of this.#eventListeners) fn(e);
    if (this.#state.apply(e)) this.#changed();
  }

  #changed(): void {
    for (const fn of this.#changeListeners) fn();
  }

  async #readAll(): Promise<void> {
    const read = ++this.#read;
    clearTimeout(this.#retryTimer);
    this.#state.beginRead();
    try {
      const rooms: InboxRoom[] = [];
      let after: string | null = null;
      for (let i = 0; i < MAX_PAGES; i++) {
        const { inbox }: { inbox: InboxPage } = await this.api.request(INBOX, {
          after,
          limit: PAGE,
        });
        rooms.push(...inbox.rooms);
        after = inbox.nextCursor;
        if (!after) break;
      }
      if (this.#stopped || read !== this.#read) return; // a newer read finishes the job
      this.#retries = 0;
      this.#state.finishRead(rooms);
      this.#changed();
    } catch {
      if (this.#stopped || read !== this.#read) return;
      this.#state.abortRead();
      this.#changed();
      // Still connected (else the reconnect reads again): try again after a back-off.
      if (this.live.status === 'online')
        this.#retryTimer = setTimeout(() => void this.#readAll(), reconnectDelay(this.#retries++));
    }
  }
}
