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
  /** WebSocket operations (ws-server.ts' hooks report them). */
  readonly ws: WsOperationHooks;
}

/**
 * WebSocket operations as ws-server.ts reports them. Nothing is kept per socket: the start
 * time travels with the operation, and the active count is a number that `completed` lowers
 * (the server reports every established operation's end, the socket's close included).
 */
export interface WsOperationHooks {
  /** After execution: `result` is an async iterable for an established subscription. */
  established(document: DocumentNode, operationName: string | null | undefined, result: unknown, startedAt: bigint): void;
  /** A subscribe that failed before execution (validation, unknown operation, refused). */
  rejected(errors: readonly GraphQLError[], startedAt: bigint): void;
  /** An established operation ended; `stream`: it was a subscription's stream. */
  completed(stream: boolean): void;
}

/**
 * The root field of the operation (e.g. `sendMessage`): bounded by the schema, unlike the
 * client-chosen operation name, so the label cannot grow without limit.
 */
export function operationLabel(op: OperationDefinitionNode | null | undefined, document?: DocumentNode): string {
  if (!op) return 'invalid';
  return rootFieldName(op, document ? fragmentsOf(document) : () => undefined) ?? 'invalid';
}

/** True for a subscription's stream (an async iterable), false for a result. */
export const isStream = (x: unknown): boolean => typeof x === 'object' && x !== null && Symbol.asyncIterator in x;

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
    established(document, operationName, result, startedAt) {
      const op = getOperationAST(document, operationName);
      const iterable = isStream(result);
      const errors = iterable ? undefined : (result as ExecutionResult).errors;
      const first = errors?.[0];
      record(
        {
          transport: 'ws',
          type: op?.operation ?? 'unknown',
          operation: operationLabel(op, document),
          outcome: first ? publicCode(first) : 'ok',
        },
        since(startedAt),
      );
      if (iterable) activeCount++;
    },
    rejected(errors, startedAt) {
      const first = errors[0];
      record(
        {
          transport: 'ws',
          type: 'unknown',
          operation: 'invalid',
          outcome: first ? publicCode(first) : 'BAD_USER_INPUT',
        },
        since(startedAt),
      );
    },
    completed(stream) {
      if (stream) activeCount--;
    },
  };

  return { metrics, apolloPlugin, dependencyError, ws };
}
