import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { ConversaError, fromGraphQLErrors, toConversaError } from './errors.js';
import { DEFAULT_RETRY, reconnectDelay, retryDecision, type RetryPolicy } from './retry.js';
import { SeqTracker } from './seq.js';
import {
  JoinRoomDocument,
  LoginDocument,
  MessageAddedDocument,
  RegisterDocument,
  RoomDocument,
  SendMessageDocument,
  type LoginMutation,
  type MessageFieldsFragment,
  type RoomFieldsFragment,
  type TypedDocumentString,
} from './generated/graphql.js';

export type Message = MessageFieldsFragment;
export type RoomInfo = RoomFieldsFragment;
export type Session = LoginMutation['login'];

/** A token, or a function that gives the current one (called for each request and connection). */
export type TokenSource = string | (() => string | undefined | Promise<string | undefined>);

export interface ConversaClientOptions {
  /**
   * The gateway's GraphQL URL (`https://host/graphql`). Several: the client moves to the next
   * one when one cannot be reached (without a load balancer in front).
   */
  url: string | readonly string[];
  /** WebSocket URL(s); default: `url` with http → ws. */
  wsUrl?: string | readonly string[];
  token?: TokenSource;
  /** The WebSocket class: browsers have one; in Node pass `ws`'s default export. */
  webSocketImpl?: unknown;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Retries of sends and reads (8 attempts, 100 ms doubling to 5 s). */
  retry?: Partial<RetryPolicy>;
  /** One HTTP attempt's deadline, ms (15 s). */
  requestTimeoutMs?: number;
  /** Makes a send's clientMsgId (default: crypto.randomUUID). */
  newClientMsgId?: () => string;
  /** Live-connection events, e.g. for a "reconnecting…" banner. */
  onConnection?: (event: ConnectionEvent) => void;
  /** Waits, ms (tests replace it). */
  sleep?: (ms: number) => Promise<void>;
}

export type ConnectionEvent =
  | { type: 'connected'; url: string }
  | { type: 'closed'; url: string; code: number; reconnectInMs: number | null };

export interface WatchOptions {
  /** Deliver every stored message with seq > after first. Default: only messages sent from now on. */
  after?: number;
  onMessage: (message: Message) => void;
  /** A refusal that ends the watch (FORBIDDEN, NOT_FOUND, UNAUTHENTICATED…). */
  onError?: (error: ConversaError) => void;
}

export interface RoomWatch {
  readonly room: string;
  /** Seq of the last message delivered (or where it started). */
  readonly lastSeq: number;
  /** Resolves once the watch is subscribed (after the first connection). */
  readonly ready: Promise<void>;
  stop(): void;
}

interface LiveSubscription {
  start(client: Client): void;
  fail(error: ConversaError): void;
}

const FATAL_CLOSE = new Set([4400, 4401, 4403, 4406]);
const list = (v: string | readonly string[]): string[] => (typeof v === 'string' ? [v] : [...v]);

/**
 * A client for conversa over HTTP (queries, mutations) and graphql-ws (subscriptions), usable
 * in browsers and in Node (pass `webSocketImpl`). Sends carry a clientMsgId and are retried
 * with the same one (never a second message); room watches keep the last seq and resume with
 * `after` after any reconnect, so a watcher sees each message once, in order.
 */
export class ConversaClient {
  private readonly httpUrls: string[];
  private readonly wsUrls: string[];
  private httpIndex = 0;
  private wsIndex = 0;
  private token: TokenSource | undefined;
  private readonly policy: RetryPolicy;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly newClientMsgId: () => string;
  private readonly seqs = new SeqTracker();
  private readonly live = new Set<LiveSubscription>();
  private socket: Client | undefined;
  private reconnectAttempt = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(private readonly opts: ConversaClientOptions) {
    this.httpUrls = list(opts.url);
    this.wsUrls = opts.wsUrl
      ? list(opts.wsUrl)
      : this.httpUrls.map((u) => u.replace(/^http/, 'ws'));
    if (this.httpUrls.length === 0 || this.wsUrls.length === 0)
      throw new Error('ConversaClient: url is empty');
    this.token = opts.token;
    this.policy = { ...DEFAULT_RETRY, ...opts.retry };
    this.fetchImpl = opts.fetch ?? ((...a) => fetch(...a));
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.newClientMsgId = opts.newClientMsgId ?? (() => globalThis.crypto.randomUUID());
  }

  setToken(token: TokenSource | undefined): void {
    this.token = token;
  }

  private async bearer(): Promise<string | undefined> {
    const t = typeof this.token === 'function' ? await this.token() : this.token;
    return t ? `Bearer ${t}` : undefined;
  }

  /** One HTTP attempt of an operation; throws a ConversaError. */
  async request<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
    const url = this.httpUrls[this.httpIndex % this.httpUrls.length]!;
    const authorization = await this.bearer();
    let res: Response;
    try {
      res = await this.fetchImpl(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(authorization ? { authorization } : {}),
        },
        body: JSON.stringify({ query: document.toString(), variables }),
        signal: AbortSignal.timeout(this.opts.requestTimeoutMs ?? 15_000),
      });
    } catch (e) {
      this.httpIndex++; // unreachable or too slow: the next gateway, if there is one
      throw toConversaError(e);
    }
    let body: ExecutionResult<R> | undefined;
    try {
      body = (await res.json()) as ExecutionResult<R>;
    } catch (e) {
      if (res.status >= 500) {
        this.httpIndex++;
        throw new ConversaError(
          'INTERNAL_SERVER_ERROR',
          `the server answered HTTP ${res.status}`,
          undefined,
          { cause: e },
        );
      }
      throw toConversaError(e);
    }
    if (body.errors?.length) throw fromGraphQLErrors(body.errors);
    if (!body.data)
      throw new ConversaError(
        'INTERNAL_SERVER_ERROR',
        `the server answered HTTP ${res.status} without data`,
      );
    return body.data;
  }

  /**
   * An operation retried on network errors, timeouts, INTERNAL_SERVER_ERROR, RATE_LIMITED,
   * UNAVAILABLE (after its retryAfter) and OUTCOME_UNKNOWN:
   * only for operations that are safe to repeat (reads, and sends with their clientMsgId).
   */
  async requestWithRetry<R, V>(document: TypedDocumentString<R, V>, variables: V): Promise<R> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.request(document, variables);
      } catch (e) {
        const err = toConversaError(e);
        const d = retryDecision(err, attempt, this.policy);
        if (!d.retry) throw err;
        await this.sleep(d.delayMs);
      }
    }
  }

  /** Registers and uses the new session's token from now on. */
  async register(username: string, password: string, displayName?: string): Promise<Session> {
    const { register } = await this.request(RegisterDocument, {
      username,
      password,
      displayName: displayName ?? null,
    });
    this.token = register.token;
    return register;
  }

  /** Signs in and uses the session's token from now on. */
  async login(username: string, password: string): Promise<Session> {
    const { login } = await this.request(LoginDocument, { username, password });
    this.token = login.token;
    return login;
  }

  async joinRoom(name: string): Promise<RoomInfo> {
    return (await this.requestWithRetry(JoinRoomDocument, { name })).joinRoom;
  }

  /**
   * Sends a message. Retries with the same clientMsgId (a fresh one unless given) until the
   * gateway answers or the policy gives up: the room gets the message once, however often it
   * was tried. Refusals throw their ConversaError at once.
   */
  async send(room: string, body: string, options: { clientMsgId?: string } = {}): Promise<Message> {
    const clientMsgId = options.clientMsgId ?? this.newClientMsgId();
    return (await this.requestWithRetry(SendMessageDocument, { room, body, clientMsgId }))
      .sendMessage;
  }

  /**
   * Every message of a room, once and in seq order, across reconnects: the watch remembers the
   * last seq and resubscribes with `after` on whichever gateway it reaches next.
   */
  watchRoom(room: string, options: WatchOptions): RoomWatch {
    const stream = new RoomStream(room, options, this.seqs, {
      policy: this.policy,
      sleep: this.sleep,
      socket: () => this.socket,
      remove: (s) => {
        this.live.delete(s);
        if (this.live.size === 0) this.disconnect();
      },
    });
    let markReady!: () => void;
    const ready = new Promise<void>((r) => (markReady = r));
    const begin = async () => {
      if (options.after !== undefined) this.seqs.set(room, options.after);
      else {
        // Live from now on: start at the room's current seq, so that a reconnect before the
        // first message still resumes without a hole.
        const { room: info } = await this.requestWithRetry(RoomDocument, { id: room });
        if (!info) throw new ConversaError('NOT_FOUND', `room: no room "${room}"`);
        this.seqs.set(room, info.lastSeq);
      }
      if (stream.stopped) return;
      this.live.add(stream);
      if (this.socket) stream.start(this.socket);
      else this.connect();
    };
    begin().then(markReady, (e: unknown) => {
      markReady();
      stream.fail(toConversaError(e));
    });
    const seqs = this.seqs;
    return {
      room,
      get lastSeq() {
        return seqs.get(room) ?? options.after ?? 0;
      },
      ready,
      stop: () => stream.stop(),
    };
  }

  private connect(): void {
    if (this.closed || this.socket) return;
    const url = this.wsUrls[this.wsIndex % this.wsUrls.length]!;
    const client = createClient({
      url,
      ...(this.opts.webSocketImpl ? { webSocketImpl: this.opts.webSocketImpl } : {}),
      lazy: false,
      // Reconnection is ours: graphql-ws would resubscribe with the first `after`.
      retryAttempts: 0,
      keepAlive: 10_000,
      onNonLazyError: () => undefined,
      connectionParams: async () => {
        const authorization = await this.bearer();
        return authorization ? { authorization } : {};
      },
      on: {
        connected: () => {
          if (this.socket !== client) return;
          this.reconnectAttempt = 0;
          this.opts.onConnection?.({ type: 'connected', url });
        },
        closed: (event) =>
          this.dropped(client, url, (event as { code?: number } | undefined)?.code ?? 1006),
      },
    });
    this.socket = client;
    for (const s of this.live) s.start(client);
  }

  private dropped(client: Client, url: string, code: number): void {
    if (this.socket !== client) return;
    this.socket = undefined;
    void client.dispose();
    if (this.closed || this.live.size === 0) {
      this.opts.onConnection?.({ type: 'closed', url, code, reconnectInMs: null });
      return;
    }
    if (FATAL_CLOSE.has(code)) {
      this.opts.onConnection?.({ type: 'closed', url, code, reconnectInMs: null });
      const err = new ConversaError(
        'UNAUTHENTICATED',
        `the server closed the connection (${code}): sign in again`,
      );
      for (const s of [...this.live]) s.fail(err);
      return;
    }
    this.wsIndex++; // the next gateway, if there is one
    const delay = reconnectDelay(++this.reconnectAttempt, this.policy);
    this.opts.onConnection?.({ type: 'closed', url, code, reconnectInMs: delay });
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  private disconnect(): void {
    clearTimeout(this.reconnectTimer);
    const s = this.socket;
    this.socket = undefined;
    void s?.dispose();
  }

  /** Ends every watch and closes the connection. */
  async close(): Promise<void> {
    this.closed = true;
    this.live.clear();
    clearTimeout(this.reconnectTimer);
    const s = this.socket;
    this.socket = undefined;
    await s?.dispose();
  }
}

interface StreamHost {
  policy: RetryPolicy;
  sleep: (ms: number) => Promise<void>;
  /** The live connection now, if any. */
  socket: () => Client | undefined;
  remove: (s: LiveSubscription) => void;
}

/** One room watch on the live connection: (re)subscribes with `after` = the last seq delivered. */
class RoomStream implements LiveSubscription {
  stopped = false;
  private current: Client | undefined;
  private dispose: (() => void) | undefined;

  constructor(
    private readonly room: string,
    private readonly options: WatchOptions,
    private readonly seqs: SeqTracker,
    private readonly host: StreamHost,
  ) {}

  start(client: Client): void {
    if (this.stopped) return;
    this.dispose?.();
    this.current = client;
    const after = this.seqs.get(this.room) ?? 0;
    this.dispose = client.subscribe<{ messageAdded: Message }>(
      { query: MessageAddedDocument.toString(), variables: { room: this.room, after } },
      {
        next: (result) => {
          if (client !== this.current || this.stopped) return;
          if (result.errors?.length) return this.refused(fromGraphQLErrors(result.errors));
          const m = result.data?.messageAdded;
          if (!m) return;
          const verdict = this.seqs.accept(this.room, m.seq);
          if (verdict === 'deliver') this.options.onMessage(m);
          // A hole must not be skipped: ask again from the last seq delivered.
          else if (verdict === 'gap') this.again(0);
        },
        error: (e) => {
          if (client !== this.current || this.stopped) return;
          // A closed socket arrives here too: the connection reconnects and restarts us.
          if (Array.isArray(e))
            this.refused(fromGraphQLErrors(e as Parameters<typeof fromGraphQLErrors>[0]));
        },
        complete: () => {
          if (client !== this.current || this.stopped) return;
          // The server ended the stream (e.g. it is draining): take it up again.
          this.again(reconnectDelay(1, this.host.policy));
        },
      },
    );
  }

  /** Subscribes again on the live connection after `delayMs` (if the socket is down, its reconnect does it). */
  private again(delayMs: number): void {
    this.dispose?.();
    this.dispose = undefined;
    this.current = undefined;
    void this.host.sleep(delayMs).then(() => {
      const socket = this.host.socket();
      if (!this.stopped && socket && this.current === undefined) this.start(socket);
    });
  }

  private refused(err: ConversaError): void {
    // A server-side failure (its database blinked) is worth another try; a refusal is final.
    if (err.code === 'INTERNAL_SERVER_ERROR' || err.code === 'RATE_LIMITED' || err.code === 'UNAVAILABLE') {
      const d = retryDecision(err, 1, this.host.policy);
      this.again(d.retry ? d.delayMs : this.host.policy.maxDelayMs);
      return;
    }
    this.fail(err);
  }

  fail(err: ConversaError): void {
    if (this.stopped) return;
    this.stop();
    this.options.onError?.(err);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.dispose?.();
    this.dispose = undefined;
    this.host.remove(this);
  }
}
