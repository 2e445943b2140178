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

export function groupedSubscribe(opts: FanoutOptions | ((contextValue: unknown) => string)): GroupedSubscribe {
  const o: FanoutOptions = typeof opts === 'function' ? { viewerClass: opts } : opts;
  const serialize = o.serialize ?? ((r: ExecutionResult) => JSON.stringify(r));
  const maxBuffered = o.maxBufferedBytes ?? Number.POSITIVE_INFINITY;
  const slowClose = o.slowClose ?? { code: CloseCode.SlowConsumer, reason: 'slow consumer' };
  const cache = new WeakMap<object, Map<string, Rendered>>();
  const stats = { executions: 0, served: 0, direct: 0 };
  // Subscriptions that share with nobody (a per-viewer selection and no viewerId): each its own group.
  let alone = 0;

  const subscribe = async (args: ExecutionArgs) => {
    const group = groupKey(args);
    if (Array.isArray(group)) return { errors: group };
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    let viewer = '';
    if (group.perViewer) viewer = (o.viewerId ? o.viewerId(args.contextValue) : undefined) ?? `\u0001${++alone}`;
    const key = `${o.viewerClass(args.contextValue)}\u0000${viewer}\u0000${group.key}`;
    const executeOnce = (payload: unknown): Rendered => {
      stats.executions++;
      const result = execute({ ...args, rootValue: payload });
      const r: Rendered = { result };
      if (!(result instanceof Promise)) r.json = serialize(result);
      return r;
    };
    const render = (payload: unknown): Rendered => {
      stats.served++;
      if (typeof payload !== 'object' || payload === null) return executeOnce(payload);
      let byKey = cache.get(payload);
      if (!byKey) cache.set(payload, (byKey = new Map<string, Rendered>()));
      let r = byKey.get(key);
      if (!r) byKey.set(key, (r = executeOnce(payload)));
      return r;
    };
    const json = (r: Rendered): string | Promise<string> => {
      if (r.json !== undefined) return r.json;
      r.jsonPromise ??= Promise.resolve(r.result).then((res) => (r.json = serialize(res)));
      return r.jsonPromise;
    };

    const it = source[Symbol.asyncIterator]();
    let sink: { prefix: string; socket: FrameSink } | undefined;
    let ended = false;
    const end = async (): Promise<IteratorResult<ExecutionResult>> => {
      ended = true;
      if (hasHandoff(source)) source.handoff = undefined;
      await it.return?.();
      return { done: true, value: undefined };
    };
    /** Writes one frame; false once the stream has ended (socket gone or too far behind). */
    const write = (payload: string): boolean => {
      if (ended || !sink) return false;
      const { socket } = sink;
      if (socket.readyState !== OPEN) {
        void end();
        return false;
      }
      if (socket.bufferedAmount > maxBuffered) {
        socket.close(slowClose.code, slowClose.reason);
        void end();
        return false;
      }
      socket.send(`${sink.prefix}${payload}}`);
      stats.direct++;
      return true;
    };
    // Events handed over by the hub: written at once when rendered synchronously, else in order
    // behind the ones still rendering.
    let rendering: Promise<void> | undefined;
    const handoff = (payload: unknown): void => {
      if (ended) return;
      const rendered = render(payload);
      if (rendering === undefined && rendered.json !== undefined) {
        write(rendered.json);
        return;
      }
      const step: Promise<void> = (rendering ?? Promise.resolve())
        .then(() => json(rendered))
        .then(
          (text) => void write(text),
          () => void end(),
        )
        .finally(() => {
          if (rendering === step) rendering = undefined;
        });
      rendering = step;
    };
    // An explicit iterator (not an async generator) so that return() reaches the source at
    // once, even while a next() is pending: a closing socket must stop its stream immediately.
    const stream: DirectStream = {
      attach(id: string, socket: FrameSink) {
        sink = { prefix: `{"id":${JSON.stringify(id)},"type":"next","payload":`, socket };
        if (hasHandoff(source)) source.handoff = handoff;
      },
      async next(): Promise<IteratorResult<ExecutionResult>> {
        // Attached: what the stream yields (replay, events queued before the handoff) is
        // written here; the loop only returns when the stream ends.
        for (;;) {
          const r = await it.next();
          if (r.done || ended) return { done: true, value: undefined };
          const rendered = render(r.value);
          if (!sink) return { done: false, value: await rendered.result };
          const text = json(rendered);
          if (!write(typeof text === 'string' ? text : await text)) return { done: true, value: undefined };
        }
      },
      return() {
        return end();
      },
      async throw(e: unknown) {
        await end();
        throw e;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return stream;
  };
  return Object.assign(subscribe, { stats });
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
