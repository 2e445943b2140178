import {
  GraphQLError,
  OperationTypeNode,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import type { LRUCache } from 'lru-cache';
import { readSubscription, type SubscriptionRoot } from './subscription-document.js';

/**
 * What Apollo does to an HTTP request before it runs, done the same way for a graphql-transport-ws
 * `subscribe` message: parse with a token cap, validate with the same rules (query limits,
 * introspection off in production), pick the operation. Pure; used by ws-lifecycle.ts' prepare.
 */

export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  /** For a subscription: its root field, arguments and resolved selection. */
  subscription?: SubscriptionRoot;
}

export interface PrepareOptions {
  schema: GraphQLSchema;
  /**
   * specifiedRules plus the gateway's own (the same list Apollo gets, with its specified
   * ones), graphql-js' SingleFieldSubscriptionsRule replaced by withSafeSubscriptionRule's.
   */
  rules: readonly ValidationRule[];
  maxTokens: number;
  /**
   * Documents that parsed and validated, by query text: a client opening the same
   * subscription on thousands of sockets is parsed and validated once. Rules depend only on
   * the document and the schema, so a cached document needs neither step again.
   */
  cache?: LRUCache<string, DocumentNode>;
}

const withCode = (e: GraphQLError, code: string): GraphQLError =>
  new GraphQLError(e.message, { nodes: e.nodes ?? null, source: e.source ?? null, positions: e.positions ?? null, extensions: { ...e.extensions, code } });

/** Parses and validates one subscribe payload; errors carry Apollo's codes so both paths read alike. */
export function prepareOperation(
  opts: PrepareOptions,
  payload: { query: string; operationName?: string | null | undefined; variables?: Readonly<Record<string, unknown>> | null | undefined },
): PreparedOperation | GraphQLError[] {
  let document = opts.cache?.get(payload.query);
  if (!document) {
    try {
      document = parse(payload.query, { maxTokens: opts.maxTokens });
    } catch (e) {
      const err = e instanceof GraphQLError ? e : new GraphQLError('the query could not be parsed');
      return [withCode(err, 'GRAPHQL_PARSE_FAILED')];
    }
    let errors: readonly GraphQLError[];
    try {
      errors = validate(opts.schema, document, opts.rules);
    } catch (e) {
      // A rule that throws (graphql-js 16 does on some documents) refuses the document; it
      // must not close the socket with 4500.
      errors = [e instanceof GraphQLError ? e : new GraphQLError('the document could not be validated')];
    }
    if (errors.length > 0) return errors.map((e) => withCode(e, 'GRAPHQL_VALIDATION_FAILED'));
    opts.cache?.set(payload.query, document);
  }
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation) {
    return [new GraphQLError('Unable to identify operation: name the one to run', { extensions: { code: 'OPERATION_RESOLUTION_FAILURE' } })];
  }
  // Variables are the caller's input: a value the schema refuses ({"$ne": null} for an ID) is
  // BAD_USER_INPUT here, as Apollo reports it on HTTP, not an error of the execution.
  const coerced = getVariableValues(opts.schema, operation.variableDefinitions ?? [], payload.variables ?? {}, { maxErrors: 10 });
  if (coerced.errors) return coerced.errors.map((e) => withCode(e, 'BAD_USER_INPUT'));
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) return { document, operation };
  const subscription = readSubscription(opts.schema, document, payload.operationName, payload.variables);
  if (Array.isArray(subscription)) return subscription;
  return { document, operation, subscription };
}

/**
 * The room a subscription reads: its root field's `room` argument (read through fragments,
 * inline fragments and aliases by subscription-document.ts), or null when it has none.
 */
export function subscribedRoom(root: SubscriptionRoot): string | null {
  const room = root.args.room;
  return typeof room === 'string' ? room : null;
}
