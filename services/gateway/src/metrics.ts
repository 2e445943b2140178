import type { ApolloServerPlugin } from '@apollo/server';
import {
  getOperationAST,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLError,
  type OperationDefinitionNode,
} from 'graphql';
import {
  createLogger,
  createMetrics,
  dependencyErrorCounter,
  type DependencyErrorHook,
  type HistogramMetric,
  type CounterMetric,
  type Metrics,
} from '@conversa/observability';
import { formatError } from './errors.js';
import { fragmentsOf, rootFieldName } from './subscription-document.js';

type OpLabels = 'transport' | 'type' | 'operation' | 'outcome';

/** What the gateway measures; `metrics` is served on GET /metrics of the gateway's port. */
export interface GatewayMetrics {
  readonly metrics: Metrics;
  /** Counts operations over HTTP with their latency. */
  readonly apolloPlugin: ApolloServerPlugin;
  readonly dependencyError: DependencyErrorHook;
  /** graphql-ws hooks: one socket's operations (keyed by the socket's `extra` object). */
  readonly ws: WsOperationHooks;
}

export interface WsOperationHooks {
  subscribe(socket: object, id: string): void;
  /** After execution: `result` is an async iterable for an established subscription. */
  operation(
    socket: object,
    id: string,
    document: DocumentNode,
    operationName: string | null | undefined,
    result: unknown,
  ): void;
  /** A subscribe that failed before execution (validation, unknown operation). */
  rejected(socket: object, id: string, errors: readonly GraphQLError[]): void;
  complete(socket: object, id: string): void;
  /** The socket closed: whatever it still held ends. */
  closed(socket: object): void;
}

/**
 * The root field of the operation (e.g. `sendMessage`): bounded by the schema, unlike the
 * client-chosen operation name, so the label cannot grow without limit.
 */
export function operationLabel(op: OperationDefinitionNode | null | undefined, document?: DocumentNode): string {
  if (!op) return 'invalid';
  return rootFieldName(op, document ? fragmentsOf(document) : () => undefined) ?? 'invalid';
}

const silent = createLogger('gateway-metrics', 'silent');
/** The public code a caller sees for this error (the gateway's one mapping, without logging). */
const publicCode = (e: GraphQLError): string => {
  const code = formatError(e.toJSON(), e, silent).extensions?.code;
  return typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR';
};

export function createGatewayMetrics(sources: {
  sockets: () => number;
  rooms: () => number;
}): GatewayMetrics {
  const metrics = createMetrics('gateway');
  const ops: CounterMetric<OpLabels> = metrics.counter(
    'graphql_operations_total',
    'GraphQL operations by transport (http, ws), type, root field and outcome (ok or the error code).',
    ['transport', 'type', 'operation', 'outcome'],
  );
  const latency: HistogramMetric<OpLabels> = metrics.histogram(
    'graphql_operation_duration_seconds',
    'Time to answer a query or mutation, or to establish a subscription, seconds.',
    ['transport', 'type', 'operation', 'outcome'],
  );
  const record = (labels: Record<OpLabels, string>, seconds: number) => {
    ops.inc(labels);
    latency.observe(labels, seconds);
  };

  const started = new WeakMap<object, Map<string, bigint>>();
  const active = new WeakMap<object, Set<string>>();
  let activeCount = 0;
  metrics.gauge('ws_connections', 'Open WebSocket connections.', [], sources.sockets);
  metrics.gauge(
    'graphql_active_subscriptions',
    'Subscriptions being served over WebSocket.',
    [],
    () => activeCount,
  );
  metrics.gauge(
    'room_hubs',
    'Rooms this process holds a Redis subscription for.',
    [],
    sources.rooms,
  );
  const dependencyError = dependencyErrorCounter(metrics, [
    ['redis', 'connection'],
    ['mongo', 'command'],
  ]);

  const since = (t: bigint) => Number(process.hrtime.bigint() - t) / 1e9;
  const takeStart = (socket: object, id: string): bigint | undefined => {
    const m = started.get(socket);
    const t = m?.get(id);
    m?.delete(id);
    return t;
  };
  const end = (socket: object, id: string) => {
    const s = active.get(socket);
    if (s?.delete(id)) activeCount--;
  };

  const apolloPlugin: ApolloServerPlugin = {
    requestDidStart() {
      const t = process.hrtime.bigint();
      return Promise.resolve({
        willSendResponse(rc) {
          const body = rc.response.body;
          const errors =
            body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors;
          const code = errors?.[0]?.extensions?.code;
          record(
            {
              transport: 'http',
              type: rc.operation?.operation ?? 'unknown',
              operation: operationLabel(rc.operation, rc.document),
              outcome: errors?.length
                ? typeof code === 'string'
                  ? code
                  : 'INTERNAL_SERVER_ERROR'
                : 'ok',
            },
            since(t),
          );
          return Promise.resolve();
        },
      });
    },
  };

  const ws: WsOperationHooks = {
    subscribe(socket, id) {
      let m = started.get(socket);
      if (!m) started.set(socket, (m = new Map<string, bigint>()));
      m.set(id, process.hrtime.bigint());
    },
    operation(socket, id, document, operationName, result) {
      const op = getOperationAST(document, operationName);
      const t = takeStart(socket, id);
      const iterable =
        typeof result === 'object' && result !== null && Symbol.asyncIterator in result;
      const errors = iterable ? undefined : (result as ExecutionResult).errors;
      const first = errors?.[0];
      record(
        {
          transport: 'ws',
          type: op?.operation ?? 'unknown',
          operation: operationLabel(op, document),
          outcome: first ? publicCode(first) : 'ok',
        },
        t === undefined ? 0 : since(t),
      );
      if (iterable) {
        let s = active.get(socket);
        if (!s) active.set(socket, (s = new Set<string>()));
        if (!s.has(id)) activeCount++;
        s.add(id);
      }
    },
    rejected(socket, id, errors) {
      const t = takeStart(socket, id);
      // Only failures before execution end up here; established ones are already counted.
      if (t === undefined) return;
      const first = errors[0];
      record(
        {
          transport: 'ws',
          type: 'unknown',
          operation: 'invalid',
          outcome: first ? publicCode(first) : 'BAD_USER_INPUT',
        },
        since(t),
      );
    },
    complete(socket, id) {
      end(socket, id);
    },
    closed(socket) {
      const s = active.get(socket);
      if (s) activeCount -= s.size;
      active.delete(socket);
      started.delete(socket);
    },
  };

  return { metrics, apolloPlugin, dependencyError, ws };
}
