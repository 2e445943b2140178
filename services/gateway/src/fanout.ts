import { createSourceEventStream, execute, type GraphQLError, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { readSubscription } from './subscription-document.js';
import { CloseCode } from './ws-protocol.js';

/**
 * Subscriptions executed and serialized once per event per group: every subscriber whose
 * operation resolves to the same root field under the same response key with the same
 * selection below it (read by subscription-document.ts: fragments expanded whatever their
 * names, `@skip`/`@include` applied, argument values, hence the variables used there, written
 * out), and the same viewer class (role) shares one execution and one JSON text per event.
 * A selection that touches a `@perViewer` field is grouped per viewer (user id) as well, so a
 * value that differs per person is never rendered once for several people.
 * The room hub hands one event object to all its listeners, so a WeakMap keyed by that object
 * holds the group's results exactly as long as the event is alive. Root-field arguments
 * (room, after) only shape the source stream, which stays per subscriber (authorization,
 * replay, resume).
 *
 * Once a stream is attached to its socket (`attach`, from ws-lifecycle.ts' `established`),
 * it writes each event's `next` frame itself: the group's JSON spliced after the
 * subscription's id, no per-socket stringify, no wait for the previous write. The protocol
 * server (ws-server.ts) keeps everything else (subscribe, complete, errors of the stream). A socket whose unsent bytes exceed the cap
 * is closed with the slow-consumer code; its client resumes with `after` and loses nothing.
 */
export interface GroupedSubscribe {
  (args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult>;
  /** Executions done (cache misses), results served (hits + misses), frames written directly. */
  readonly stats: { executions: number; served: number; direct: number };
}

/**
 * The one port between the live-stream core (room hub → fan-out) and the transport: where a
 * subscription's frames go. A `ws` WebSocket (ws-server.ts' GraphQLSocket) is one as it is;
 * tests use an array.
 */
export interface FrameSink {
  readonly readyState: number;
  readonly bufferedAmount: number;
  send(data: string): void;
  close(code: number, reason: string): void;
}

export interface FanoutOptions {
  /** The group a subscriber belongs to beyond its selection: its viewer class (role). */
  viewerClass: (contextValue: unknown) => string;
  /**
   * The viewer's identity (user id), for selections that touch a `@perViewer` field. Without
   * it such a subscription shares its execution with nobody.
   */
  viewerId?: (contextValue: unknown) => string | undefined;
  /** The `next` payload's JSON for a result (errors formatted as the socket's other messages). */
  serialize?: (result: ExecutionResult) => string;
  /** Unsent bytes a socket may hold before it is closed as a slow consumer. */
  maxBufferedBytes?: number;
  /** The close code and reason for a slow consumer. */
  slowClose?: { code: number; reason: string };
}

/** A subscription stream that can write its frames straight to its socket. */
export interface DirectStream extends AsyncGenerator<ExecutionResult> {
  attach(id: string, socket: FrameSink): void;
}

export const isDirectStream = (x: unknown): x is DirectStream =>
  typeof x === 'object' && x !== null && typeof (x as Partial<DirectStream>).attach === 'function';

const OPEN = 1;

interface Rendered {
  result: ExecutionResult | Promise<ExecutionResult>;
  /** The payload's JSON, once known (at once when execution was synchronous). */
  json?: string;
  jsonPromise?: Promise<string>;
}

/** A source the hub can hand live events to directly (see room-hub.ts' Handoff). */
interface HandoffSlot {
  handoff: ((value: unknown) => void) | undefined;
}
const hasHandoff = (x: object): x is HandoffSlot => 'handoff' in x;

/** What every stream of one groupedSubscribe shares: the render cache, the options, the counts. */
interface Shared {
  cache: WeakMap<object, Map<string, Rendered>>;
  stats: { executions: number; served: number; direct: number };
  serialize: (result: ExecutionResult) => string;
  maxBuffered: number;
  slowClose: { code: number; reason: string };
}

export function groupedSubscribe(opts: FanoutOptions | ((contextValue: unknown) => string)): GroupedSubscribe {
  const o: FanoutOptions = typeof opts === 'function' ? { viewerClass: opts } : opts;
  const shared: Shared = {
    cache: new WeakMap<object, Map<string, Rendered>>(),
    stats: { executions: 0, served: 0, direct: 0 },
    serialize: o.serialize ?? ((r: ExecutionResult) => JSON.stringify(r)),
    maxBuffered: o.maxBufferedBytes ?? Number.POSITIVE_INFINITY,
    slowClose: o.slowClose ?? { code: CloseCode.SlowConsumer, reason: 'slow consumer' },
  };
  // Subscriptions that share with nobody (a per-viewer selection and no viewerId): each its own group.
  let alone = 0;

  const subscribe = async (args: ExecutionArgs) => {
    const group = groupKey(args);
    if (Array.isArray(group)) return { errors: group };
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    let viewer = '';
    if (group.perViewer) viewer = (o.viewerId ? o.viewerId(args.contextValue) : undefined) ?? `\u0001${++alone}`;
    return new GroupStream(shared, args, `${o.viewerClass(args.contextValue)}\u0000${viewer}\u0000${group.key}`, source);
  };
  return Object.assign(subscribe, { stats: shared.stats });
}

/**
 * One subscriber's stream: its events rendered through the group's cache and, once attached,
 * written straight to its sink. A class, not a set of closures: it is held by every idle
 * subscription for as long as it lives.
 * An explicit iterator (not an async generator) so that return() reaches the source at once,
 * even while a next() is pending: a closing socket must stop its stream immediately.
 */
class GroupStream implements DirectStream {
  private readonly it: AsyncIterator<unknown>;
  /** `{"id":…,"type":"next","payload":` once attached. */
  private prefix: string | undefined = undefined;
  private sink: FrameSink | undefined = undefined;
  private ended = false;
  /** Events still rendering (asynchronously), in order. */
  private rendering: Promise<void> | undefined = undefined;

  constructor(
    private readonly shared: Shared,
    private readonly args: ExecutionArgs,
    /** Viewer class, viewer and selection: equal keys share one rendering per event. */
    private readonly key: string,
    private readonly source: AsyncIterable<unknown>,
  ) {
    this.it = source[Symbol.asyncIterator]();
  }

  attach(id: string, sink: FrameSink): void {
    this.prefix = `{"id":${JSON.stringify(id)},"type":"next","payload":`;
    this.sink = sink;
    if (hasHandoff(this.source)) this.source.handoff = (payload: unknown) => this.handoff(payload);
  }

  async next(): Promise<IteratorResult<ExecutionResult>> {
    // Attached: what the stream yields (replay, events queued before the handoff) is written
    // here; the loop only returns when the stream ends.
    for (;;) {
      const r = await this.it.next();
      if (r.done || this.ended) return { done: true, value: undefined };
      const rendered = this.render(r.value);
      if (!this.sink) return { done: false, value: await rendered.result };
      const text = this.json(rendered);
      if (!this.write(typeof text === 'string' ? text : await text)) return { done: true, value: undefined };
    }
  }

  return(): Promise<IteratorResult<ExecutionResult>> {
    return this.end();
  }

  async throw(e: unknown): Promise<IteratorResult<ExecutionResult>> {
    await this.end();
    throw e;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private async end(): Promise<IteratorResult<ExecutionResult>> {
    this.ended = true;
    if (hasHandoff(this.source)) this.source.handoff = undefined;
    await this.it.return?.();
    return { done: true, value: undefined };
  }

  private executeOnce(payload: unknown): Rendered {
    this.shared.stats.executions++;
    const result = execute({ ...this.args, rootValue: payload });
    const r: Rendered = { result };
    if (!(result instanceof Promise)) r.json = this.shared.serialize(result);
    return r;
  }

  private render(payload: unknown): Rendered {
    const { cache, stats } = this.shared;
    stats.served++;
    if (typeof payload !== 'object' || payload === null) return this.executeOnce(payload);
    let byKey = cache.get(payload);
    if (!byKey) cache.set(payload, (byKey = new Map<string, Rendered>()));
    let r = byKey.get(this.key);
    if (!r) byKey.set(this.key, (r = this.executeOnce(payload)));
    return r;
  }

  private json(r: Rendered): string | Promise<string> {
    if (r.json !== undefined) return r.json;
    r.jsonPromise ??= Promise.resolve(r.result).then((res) => (r.json = this.shared.serialize(res)));
    return r.jsonPromise;
  }

  /** Writes one frame; false once the stream has ended (socket gone or too far behind). */
  private write(payload: string): boolean {
    const sink = this.sink;
    if (this.ended || !sink) return false;
    if (sink.readyState !== OPEN) {
      void this.end();
      return false;
    }
    if (sink.bufferedAmount > this.shared.maxBuffered) {
      sink.close(this.shared.slowClose.code, this.shared.slowClose.reason);
      void this.end();
      return false;
    }
    sink.send(`${this.prefix}${payload}}`);
    this.shared.stats.direct++;
    return true;
  }

  /**
   * Events handed over by the hub: written at once when rendered synchronously, else in order
   * behind the ones still rendering.
   */
  private handoff(payload: unknown): void {
    if (this.ended) return;
    const rendered = this.render(payload);
    if (this.rendering === undefined && rendered.json !== undefined) {
      this.write(rendered.json);
      return;
    }
    const step: Promise<void> = (this.rendering ?? Promise.resolve())
      .then(() => this.json(rendered))
      .then(
        (text) => void this.write(text),
        () => void this.end(),
      )
      .finally(() => {
        if (this.rendering === step) this.rendering = undefined;
      });
    this.rendering = step;
  }
}

interface Group {
  /** Response key, root field and canonical selection: equal keys receive equal data. */
  key: string;
  perViewer: boolean;
}

/**
 * The group of a subscribe (readSubscription caches what does not depend on variables, so
 * this is cheap for the thousands of sockets that send one document). Root-field arguments
 * (room, after) are not part of it: they only shape the source stream, and an event object
 * only ever reaches subscribers of one room.
 */
function groupKey(args: ExecutionArgs): Group | GraphQLError[] {
  const root = readSubscription(args.schema, args.document, args.operationName, args.variableValues);
  if (Array.isArray(root)) return root;
  return { key: `${root.responseKey}\u0000${root.fieldName}${root.selection}`, perViewer: root.perViewer };
}
