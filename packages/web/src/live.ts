import { createClient, type Client } from 'graphql-ws';
import { reconnectDelay } from './lib/timing.js';
import type { GraphQLErrorLike } from './lib/errors.js';

/** `connecting` before the first connection, `reconnecting` after a drop, `expired` after 4403. */
export type LiveStatus = 'connecting' | 'online' | 'reconnecting' | 'expired' | 'stopped';

export interface LiveSubscription<T> {
  query: string;
  /** Evaluated at every (re)subscribe: lets `messageAdded` resume after the last seq seen. */
  variables: () => Record<string, unknown>;
  next: (data: T) => void;
  /** The server refused the operation (FORBIDDEN, NOT_FOUND…). */
  error?: (errors: GraphQLErrorLike[]) => void;
}

interface Entry {
  sub: LiveSubscription<unknown>;
  dispose: (() => void) | undefined;
}

/** graphql-ws close code the gateway uses for a refused or expired token. */
const FORBIDDEN = 4403;
/** A ping unanswered this long means the socket is dead even if it never closed, ms (5 s). */
const PONG_TIMEOUT_MS = 5_000;
/** How often to ping, ms (10 s). */
const KEEP_ALIVE_MS = 10_000;

/**
 * One WebSocket (graphql-ws) for the tab, with reconnects done here rather than by graphql-ws:
 * every reconnect uses a fresh client and subscribes again with fresh variables, so each
 * `messageAdded` resumes with `after: <last seq seen>` and nothing is missed or doubled.
 * The browser's offline event ends the socket at once (no waiting for a timeout) and the
 * online event reconnects without waiting for the back-off.
 */
export class LiveConnection {
  readonly #entries = new Set<Entry>();
  readonly #statusListeners = new Set<(s: LiveStatus, previous: LiveStatus) => void>();
  #client: Client | null = null;
  #status: LiveStatus = 'connecting';
  #attempt = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #pongTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #onOffline = () => this.#drop();
  readonly #onOnline = () => {
    if (this.#status === 'reconnecting') this.#reconnectNow();
  };

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly onExpired: () => void,
  ) {}

  get status(): LiveStatus {
    return this.#status;
  }

  start(): void {
    window.addEventListener('offline', this.#onOffline);
    window.addEventListener('online', this.#onOnline);
    this.#open();
  }

  stop(): void {
    this.#setStatus('stopped');
    window.removeEventListener('offline', this.#onOffline);
    window.removeEventListener('online', this.#onOnline);
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#pongTimer);
    const c = this.#client;
    this.#client = null;
    if (c) void c.dispose();
  }

  /** Calls `fn` on every status change; returns the unsubscribe function. */
  onStatus(fn: (s: LiveStatus, previous: LiveStatus) => void): () => void {
    this.#statusListeners.add(fn);
    return () => this.#statusListeners.delete(fn);
  }

  /** Subscribes now and again after each reconnect; returns the function that ends it. */
  subscribe<T>(sub: LiveSubscription<T>): () => void {
    const entry: Entry = { sub: sub as LiveSubscription<unknown>, dispose: undefined };
    this.#entries.add(entry);
    if (this.#client) this.#attach(this.#client, entry);
    return () => {
      this.#entries.delete(entry);
      entry.dispose?.();
      entry.dispose = undefined;
    };
  }

  #setStatus(s: LiveStatus): void {
    const previous = this.#status;
    if (previous === s || previous === 'stopped' || previous === 'expired') return;
    this.#status = s;
    for (const fn of this.#statusListeners) fn(s, previous);
  }

  #open(): void {
    const client = createClient({
      url: this.url,
      lazy: false,
      retryAttempts: 0, // reconnects are ours: see the class comment
      keepAlive: KEEP_ALIVE_MS,
      connectionParams: { authorization: `Bearer ${this.token}` },
      onNonLazyError: () => undefined, // reported through `closed`
      on: {
        connected: () => {
          if (client !== this.#client) return;
          this.#attempt = 0;
          this.#setStatus('online');
        },
        ping: (received) => {
          if (received || client !== this.#client) return;
          clearTimeout(this.#pongTimer);
          this.#pongTimer = setTimeout(() => this.#drop(), PONG_TIMEOUT_MS);
        },
        pong: (received) => {
          if (received) clearTimeout(this.#pongTimer);
        },
        closed: (event) => {
          if (client !== this.#client) return;
          this.#closed((event as CloseEvent | undefined)?.code);
        },
      },
    });
    this.#client = client;
    for (const e of this.#entries) this.#attach(client, e);
  }

  #attach(client: Client, entry: Entry): void {
    const { sub } = entry;
    entry.dispose = client.subscribe<unknown>(
      { query: sub.query, variables: sub.variables() },
      {
        next: (r) => {
          if (client !== this.#client) return;
          if (r.errors?.length) sub.error?.(r.errors as GraphQLErrorLike[]);
          else if (r.data) sub.next(r.data);
        },
        // A socket close also lands here; only GraphQL errors (an array) concern the subscriber.
        error: (e) => {
          if (client === this.#client && Array.isArray(e)) sub.error?.(e as GraphQLErrorLike[]);
        },
        complete: () => undefined,
      },
    );
  }

  /** Ends the current socket now (offline, or a ping without pong); `closed` then reconnects. */
  #drop(): void {
    if (this.#status === 'stopped' || this.#status === 'expired') return;
    const client = this.#client;
    if (!client) return;
    clearTimeout(this.#pongTimer);
    // terminate() reports `closed` at once, even when the close handshake cannot complete.
    client.terminate();
    if (client === this.#client) this.#closed(4499);
  }

  #closed(code: number | undefined): void {
    const old = this.#client;
    this.#client = null;
    clearTimeout(this.#pongTimer);
    for (const e of this.#entries) e.dispose = undefined;
    if (old) void old.dispose();
    if (this.#status === 'stopped' || this.#status === 'expired') return;
    if (code === FORBIDDEN) {
      this.#setStatus('expired');
      this.onExpired();
      return;
    }
    this.#setStatus('reconnecting');
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      // While the browser knows it is offline, wait for its online event instead of dialling.
      if (navigator.onLine === false) this.#scheduleRetry();
      else this.#open();
    }, reconnectDelay(this.#attempt++));
  }

  #reconnectNow(): void {
    if (this.#client) return; // already trying
    clearTimeout(this.#retryTimer);
    this.#open();
  }
}
