import {
  createSourceEventStream,
  execute,
  getOperationAST,
  print,
  visit,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
} from 'graphql';

/**
 * Subscriptions executed once per event per group: every subscriber whose operation has the
 * same text below the root field, the same values for the variables used there, and the same
 * viewer class (role) gets the same ExecutionResult object for one event. The room hub hands
 * one event object to all its listeners, so a WeakMap keyed by that object holds the group's
 * results exactly as long as the event is alive. Root-field arguments (room, after) only
 * shape the source stream, which stays per subscriber (authorization, replay).
 */
export interface GroupedSubscribe {
  (args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult>;
  /** Executions done (cache misses) and results served (hits + misses). */
  readonly stats: { executions: number; served: number };
}

export function groupedSubscribe(viewerClass: (contextValue: unknown) => string): GroupedSubscribe {
  const cache = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();
  const stats = { executions: 0, served: 0 };

  const subscribe = async (args: ExecutionArgs) => {
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in source)) return source;
    const key = `${viewerClass(args.contextValue)}\u0000${groupKey(args)}`;
    const run = (payload: unknown): Promise<ExecutionResult> => {
      stats.served++;
      if (typeof payload !== 'object' || payload === null) {
        stats.executions++;
        return Promise.resolve(execute({ ...args, rootValue: payload }));
      }
      let byKey = cache.get(payload);
      if (!byKey) cache.set(payload, (byKey = new Map<string, Promise<ExecutionResult>>()));
      let result = byKey.get(key);
      if (!result) {
        stats.executions++;
        result = Promise.resolve(execute({ ...args, rootValue: payload }));
        byKey.set(key, result);
      }
      return result;
    };
    const it = source[Symbol.asyncIterator]();
    // An explicit iterator (not an async generator) so that return() reaches the source at
    // once, even while a next() is pending: a closing socket must stop its stream immediately.
    const mapped: AsyncGenerator<ExecutionResult> = {
      async next() {
        const r = await it.next();
        return r.done ? { done: true, value: undefined } : { done: false, value: await run(r.value) };
      },
      async return() {
        await it.return?.();
        return { done: true, value: undefined };
      },
      async throw(e: unknown) {
        await it.return?.();
        throw e;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    } as AsyncGenerator<ExecutionResult>;
    return mapped;
  };
  return Object.assign(subscribe, { stats });
}

/** The root field's selection set, printed, plus the values of the variables used inside it. */
function groupKey(args: ExecutionArgs): string {
  const op = getOperationAST(args.document, args.operationName);
  const root = op?.selectionSet.selections[0] as FieldNode | undefined;
  if (!root?.selectionSet) return '';
  const used = new Set<string>();
  visit(root.selectionSet, {
    Variable(node) {
      used.add(node.name.value);
    },
  });
  const vars = [...used].sort().map((v) => [v, args.variableValues?.[v]]);
  return `${root.name.value}${print(root.selectionSet)}${JSON.stringify(vars)}`;
}
