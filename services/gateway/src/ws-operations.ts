import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  getOperationAST,
  getVariableValues,
  parse,
  validate,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationRule,
} from 'graphql';
import type { LRUCache } from 'lru-cache';

/**
 * What Apollo does to an HTTP request before it runs, done the same way for a graphql-ws
 * `subscribe` message: parse with a token cap, validate with the same rules (query limits,
 * introspection off in production), pick the operation. Pure; used by gateway.ts' onSubscribe.
 */

export interface PreparedOperation {
  document: DocumentNode;
  operation: OperationDefinitionNode;
}

export interface PrepareOptions {
  schema: GraphQLSchema;
  /** specifiedRules plus the gateway's own (the same list Apollo gets, with its specified ones). */
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
    const errors = validate(opts.schema, document, opts.rules);
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
  return { document, operation };
}

/**
 * The room a subscription reads: its root field's `room` argument (a literal or a variable),
 * or null when it has none (or is not a subscription). Subscriptions have exactly one root
 * field (graphql-js' SingleFieldSubscriptions rule), possibly inside fragments.
 */
export function subscribedRoom(
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): string | null {
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) return null;
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const seen = new Set<string>();
  const rootField = (set: SelectionSetNode): FieldNode | undefined => {
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) return sel;
      if (sel.kind === Kind.INLINE_FRAGMENT) {
        const f = rootField(sel.selectionSet);
        if (f) return f;
      } else if (!seen.has(sel.name.value)) {
        seen.add(sel.name.value);
        const def = fragments.get(sel.name.value);
        const f = def ? rootField(def.selectionSet) : undefined;
        if (f) return f;
      }
    }
    return undefined;
  };
  const arg = rootField(operation.selectionSet)?.arguments?.find((a) => a.name.value === 'room');
  if (!arg) return null;
  if (arg.value.kind === Kind.STRING) return arg.value.value;
  if (arg.value.kind === Kind.VARIABLE) {
    const v = variables?.[arg.value.name.value];
    return typeof v === 'string' ? v : null;
  }
  return null;
}
