import {
  GraphQLError,
  GraphQLIncludeDirective,
  GraphQLSkipDirective,
  Kind,
  OperationTypeNode,
  SingleFieldSubscriptionsRule,
  TypeNameMetaFieldDef,
  astFromValue,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isCompositeType,
  isObjectType,
  print,
  typeFromAST,
  visit,
  type ASTVisitor,
  type ArgumentNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type FragmentSpreadNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type InlineFragmentNode,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/**
 * The one reader of a subscription document (issue 14 point 1): which root field it selects,
 * with which arguments, under which response key, and what it selects below, resolved the way
 * graphql-js executes it (fragments and inline fragments expanded, `@skip`/`@include` applied
 * with the operation's variables, fields merged by response key). Authorization (the room of
 * a subscription, ws-operations.ts), the fan-out's groups (fanout.ts), the validation of a
 * subscription's top level and the metrics' operation label (metrics.ts) all read documents
 * through this file, so they cannot disagree. The query limits (query-limits.ts) deliberately
 * do not: they bound the document as written (every copy of a field, every spread of a
 * fragment counted, memoized per fragment) before anything is executed, which is not what
 * execution merges; a document that passes them is small enough for the walk here.
 *
 * graphql-js 16 does not export its `collectFields`; {@link collectFields} below follows it
 * (graphql/execution/collectFields.js) with the exported helpers (getDirectiveValues,
 * typeFromAST, isSubType). Pure: no I/O.
 */

/** The schema directive that marks a field whose value depends on who reads it. */
export const PER_VIEWER = 'perViewer';

/**
 * Its definition, for any schema the fan-out serves. A field marked with it (`unread`,
 * `reactedByMe`, `myRole` …) is never rendered once for several people: the fan-out puts the
 * viewer's user id into the group of every subscription whose resolved selection touches it.
 */
export const PER_VIEWER_DIRECTIVE_SDL = `directive @${PER_VIEWER} on FIELD_DEFINITION`;

/** True when a field's value depends on the viewer: `@perViewer` in SDL or `extensions.perViewer` in code. */
export function isPerViewerField(field: GraphQLField<unknown, unknown>): boolean {
  if (field.extensions[PER_VIEWER] === true) return true;
  return field.astNode?.directives?.some((d) => d.name.value === PER_VIEWER) ?? false;
}

export type FragmentLookup = (name: string) => FragmentDefinitionNode | undefined;

/**
 * Variable values (coerced), or `undefined` while validating (no values yet): a condition
 * that reads a variable then counts as "included", so a count made this way is an upper bound.
 */
export type VariableValues = Readonly<Record<string, unknown>> | undefined;

/** Fields of one level, merged by response key (alias or name), in the order they execute. */
export type CollectedFields = Map<string, FieldNode[]>;

/** Variables a walk read: in `@skip`/`@include` conditions and in field arguments. */
type Consulted = Set<string>;

/** Records the variables that these arguments (or a directive's) read. */
function variablesIn(node: { readonly arguments?: readonly ArgumentNode[] | undefined }, into: Consulted | undefined): void {
  if (!into || !node.arguments) return;
  for (const a of node.arguments) visit(a, { Variable: (v) => void into.add(v.name.value) });
}

/** graphql-js' shouldIncludeNode, with an "unknown yet" answer (include) while validating. */
function shouldInclude(node: FieldNode | FragmentSpreadNode | InlineFragmentNode, variables: VariableValues, consulted?: Consulted): boolean {
  if (!node.directives?.length) return true;
  for (const d of node.directives) if (d.name.value === 'skip' || d.name.value === 'include') variablesIn(d, consulted);
  if (variables === undefined) {
    const literal = (name: string): boolean | undefined => {
      const arg = node.directives?.find((d) => d.name.value === name)?.arguments?.find((a) => a.name.value === 'if');
      return arg?.value.kind === Kind.BOOLEAN ? arg.value.value : undefined;
    };
    return literal('skip') !== true && literal('include') !== false;
  }
  if (getDirectiveValues(GraphQLSkipDirective, node, variables)?.if === true) return false;
  if (getDirectiveValues(GraphQLIncludeDirective, node, variables)?.if === false) return false;
  return true;
}

function conditionMatches(schema: GraphQLSchema | undefined, typeCondition: FragmentDefinitionNode['typeCondition'] | undefined, type: GraphQLObjectType | undefined): boolean {
  // No runtime type known (validation without a schema): validated documents only spread
  // fragments that can apply here.
  if (!typeCondition || !type || !schema) return true;
  const conditional = typeFromAST(schema, typeCondition);
  if (conditional === type) return true;
  return conditional !== undefined && isAbstractType(conditional) && schema.isSubType(conditional, type);
}

/**
 * The fields that a selection set (or several, for merged field nodes) selects for an object
 * of `runtimeType`, as graphql-js' collectFields: each fragment at most once per level, so a
 * "fragment bomb" stays linear and a fragment cycle terminates.
 */
export function collectFields(
  schema: GraphQLSchema | undefined,
  fragmentOf: FragmentLookup,
  variables: VariableValues,
  runtimeType: GraphQLObjectType | undefined,
  selectionSets: readonly SelectionSetNode[],
  consulted?: Consulted,
): CollectedFields {
  const fields: CollectedFields = new Map();
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const sel of set.selections) {
      if (!shouldInclude(sel, variables, consulted)) continue;
      if (sel.kind === Kind.FIELD) {
        const key = sel.alias?.value ?? sel.name.value;
        const list = fields.get(key);
        if (list) list.push(sel);
        else fields.set(key, [sel]);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        if (conditionMatches(schema, sel.typeCondition, runtimeType)) walk(sel.selectionSet);
      } else {
        const name = sel.name.value;
        if (visited.has(name)) continue;
        visited.add(name);
        const def = fragmentOf(name);
        if (def && conditionMatches(schema, def.typeCondition, runtimeType)) walk(def.selectionSet);
      }
    }
  };
  for (const s of selectionSets) walk(s);
  return fields;
}

/** What a subscription operation reads, resolved. */
export interface SubscriptionRoot {
  readonly operation: OperationDefinitionNode;
  /** The root field's name (`messageAdded`). */
  readonly fieldName: string;
  /** Its response key: the alias, or the name (`{ m: messageAdded(…) }` → `m`). */
  readonly responseKey: string;
  /** Its argument values, coerced, defaults applied (`{ room: 'lobby', after: 3 }`). */
  readonly args: Readonly<Record<string, unknown>>;
  /**
   * The resolved selection below the root in a canonical text: fragments expanded (their
   * names play no part), `@skip`/`@include` applied, fields merged by response key in
   * execution order, argument values written as literals (so `$size` = 10 and `10` agree).
   * Two subscribers with the same text receive the same data for the same event.
   */
  readonly selection: string;
  /** Values of the variables read below the root (arguments and conditions), by name. */
  readonly variablesUsed: Readonly<Record<string, unknown>>;
  /** The resolved selection touches a `@perViewer` field. */
  readonly perViewer: boolean;
}

const refused = (message: string, nodes?: readonly FieldNode[]): GraphQLError =>
  new GraphQLError(message, { nodes: nodes ?? null, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } });

/** A document's fragments by name. */
export function fragmentsOf(document: DocumentNode): FragmentLookup {
  const map = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) map.set(d.name.value, d);
  return (name) => map.get(name);
}

function argumentsText(field: GraphQLField<unknown, unknown>, node: FieldNode, variables: Readonly<Record<string, unknown>>, consulted: Consulted): string {
  if (!node.arguments?.length && !field.args.some((a) => a.defaultValue !== undefined)) return '';
  variablesIn(node, consulted);
  const values = getArgumentValues(field, node, variables);
  const parts: string[] = [];
  for (const a of field.args) {
    if (!(a.name in values)) continue;
    const ast = astFromValue(values[a.name], a.type);
    parts.push(`${a.name}:${ast ? print(ast) : JSON.stringify(values[a.name])}`);
  }
  return parts.length ? `(${parts.join(',')})` : '';
}

interface Canonical {
  text: string;
  perViewer: boolean;
}

/** The canonical text of what `nodes` (one response key, merged) select below a field of `type`. */
function canonicalSelection(
  schema: GraphQLSchema,
  fragmentOf: FragmentLookup,
  variables: Readonly<Record<string, unknown>>,
  type: GraphQLCompositeType,
  sets: readonly SelectionSetNode[],
  consulted: Consulted,
): Canonical {
  // What executes below an abstract type depends on the object's runtime type: one branch per
  // possible type, in name order, exactly as execution would collect it.
  const runtimeTypes = isObjectType(type) ? [type] : [...schema.getPossibleTypes(type)].sort((a, b) => a.name.localeCompare(b.name));
  let perViewer = false;
  const branches = runtimeTypes.map((runtime) => {
    const parts: string[] = [];
    for (const [key, nodes] of collectFields(schema, fragmentOf, variables, runtime, sets, consulted)) {
      const first = nodes[0]!;
      const name = first.name.value;
      const field = name === TypeNameMetaFieldDef.name ? TypeNameMetaFieldDef : runtime.getFields()[name];
      // Validation has refused unknown fields; skipped like execution does.
      if (!field) continue;
      if (isPerViewerField(field)) perViewer = true;
      let text = `${key === name ? name : `${key}:${name}`}${argumentsText(field, first, variables, consulted)}`;
      const named = getNamedType(field.type);
      const subSets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
      if (isCompositeType(named) && subSets.length) {
        const sub = canonicalSelection(schema, fragmentOf, variables, named, subSets, consulted);
        perViewer ||= sub.perViewer;
        text += sub.text;
      }
      parts.push(text);
    }
    return `{${parts.join(' ')}}`;
  });
  const text = isObjectType(type) ? (branches[0] ?? '{}') : `{${runtimeTypes.map((t, i) => `...on ${t.name}${branches[i]}`).join(' ')}}`;
  return { text, perViewer };
}

/**
 * Reads a subscription operation: its one root field, the root field's arguments, and its
 * resolved selection. `variables` are the subscriber's raw values (coerced here as execution
 * does). Errors: the operation cannot be found or is not a subscription, variables the schema
 * refuses, or not exactly one root field (validation refuses that already; two aliases of one
 * root field are two root fields).
 */
export function readSubscription(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): SubscriptionRoot | GraphQLError[] {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation) return [refused('Unable to identify operation: name the one to run')];
  if (operation.operation !== OperationTypeNode.SUBSCRIPTION) return [refused(`operation is a ${operation.operation}, not a subscription`)];
  const rootType = schema.getSubscriptionType();
  if (!rootType) return [refused('the schema has no subscriptions')];
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], variables ?? {}, { maxErrors: 10 });
  if (coerced.errors) return coerced.errors.map((e) => new GraphQLError(e.message, { nodes: e.nodes ?? null, extensions: { ...e.extensions, code: 'BAD_USER_INPUT' } }));
  const values = coerced.coerced;
  let byOperation = readings.get(document);
  if (!byOperation) readings.set(document, (byOperation = new Map<string, Reading>()));
  const opKey = operationName ?? '';
  let reading = byOperation.get(opKey);
  if (!reading || reading.schema !== schema) {
    const consulted: Consulted = new Set();
    const read = readOperation(schema, document, operation, rootType, values, consulted);
    if (Array.isArray(read)) return read;
    reading = read;
    // What the document selects read no variable (the usual case: only the root field's
    // arguments do): every later subscribe with this document reuses it.
    if (consulted.size === 0) byOperation.set(opKey, reading);
  }
  try {
    return { ...reading.root, args: getArgumentValues(reading.field, reading.node, values) };
  } catch (e) {
    return [e instanceof GraphQLError ? new GraphQLError(e.message, { nodes: e.nodes ?? null, extensions: { code: 'BAD_USER_INPUT' } }) : refused(String(e))];
  }
}

/** A document's operation read once: all but the root field's argument values. */
interface Reading {
  schema: GraphQLSchema;
  root: Omit<SubscriptionRoot, 'args'>;
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
}
/** Readings that depend on no variable, per parsed document (cached documents are shared) and operation. */
const readings = new WeakMap<DocumentNode, Map<string, Reading>>();

function readOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rootType: GraphQLObjectType,
  values: Readonly<Record<string, unknown>>,
  consulted: Consulted,
): Reading | GraphQLError[] {
  const fragmentOf = fragmentsOf(document);
  const roots = collectFields(schema, fragmentOf, values, rootType, [operation.selectionSet], consulted);
  if (roots.size !== 1) {
    const keys = [...roots.keys()];
    return [
      refused(
        `a subscription selects exactly one root field; this one selects ${keys.length}${keys.length ? ` (${keys.join(', ')})` : ''}: open one subscription per field`,
        [...roots.values()].flat(),
      ),
    ];
  }
  const [responseKey, nodes] = [...roots][0]!;
  const node = nodes[0]!;
  const field = rootType.getFields()[node.name.value];
  if (!field) return [refused(`Cannot query field "${node.name.value}" on type "${rootType.name}".`, nodes)];
  // Variables of the root field's own arguments shape the stream, not the selection.
  const below: Consulted = new Set();
  const named = getNamedType(field.type);
  const subSets = nodes.flatMap((n) => (n.selectionSet ? [n.selectionSet] : []));
  const sub = isCompositeType(named) && subSets.length ? canonicalSelection(schema, fragmentOf, values, named, subSets, below) : { text: '', perViewer: false };
  const variablesUsed: Record<string, unknown> = {};
  for (const v of [...below].sort()) {
    variablesUsed[v] = values[v];
    consulted.add(v);
  }
  return {
    schema,
    field,
    node,
    root: { operation, fieldName: field.name, responseKey, selection: sub.text, variablesUsed, perViewer: isPerViewerField(field) || sub.perViewer },
  };
}

/**
 * The first root field's name of an operation, through fragments (metrics label the
 * operation with it); undefined when it selects none.
 */
export function rootFieldName(operation: OperationDefinitionNode, fragmentOf: FragmentLookup): string | undefined {
  const first = collectFields(undefined, fragmentOf, undefined, undefined, [operation.selectionSet]).values().next();
  return first.done ? undefined : first.value[0]?.name.value;
}

// ---- validation --------------------------------------------------------------------------

/** Does a subscription's top level (through its fragments) use `@skip` or `@include`? */
function rootDirectiveNodes(operation: OperationDefinitionNode, fragmentOf: FragmentLookup): (FieldNode | FragmentSpreadNode | InlineFragmentNode)[] {
  const found: (FieldNode | FragmentSpreadNode | InlineFragmentNode)[] = [];
  const visited = new Set<string>();
  const walk = (set: SelectionSetNode): void => {
    for (const sel of set.selections) {
      if (sel.directives?.some((d) => d.name.value === 'skip' || d.name.value === 'include')) found.push(sel);
      if (sel.kind === Kind.INLINE_FRAGMENT) walk(sel.selectionSet);
      else if (sel.kind === Kind.FRAGMENT_SPREAD && !visited.has(sel.name.value)) {
        visited.add(sel.name.value);
        const def = fragmentOf(sel.name.value);
        if (def) walk(def.selectionSet);
      }
    }
  };
  walk(operation.selectionSet);
  return found;
}

function rootDirectiveMessage(operation: OperationDefinitionNode): string {
  const what = operation.name ? `Subscription "${operation.name.value}"` : 'Anonymous Subscription';
  return `${what} must not use \`@skip\` or \`@include\` directives in the top level selection.`;
}

/**
 * What {@link SafeSingleFieldSubscriptionsRule} says of a document's subscriptions with
 * `@skip`/`@include` at their top level, without a schema (null when none has): for a path that
 * cannot replace graphql-js' rule (Apollo validates with it and answers its throw with a 500).
 */
export function rootDirectiveError(document: DocumentNode): string | null {
  const fragments = new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
  for (const d of document.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION && d.operation === OperationTypeNode.SUBSCRIPTION && rootDirectiveNodes(d, (n) => fragments.get(n)).length > 0) return rootDirectiveMessage(d);
  }
  return null;
}

/**
 * graphql-js 16's SingleFieldSubscriptionsRule, made safe: `@skip`/`@include` on the top
 * level of a subscription are refused with a clear error (as the GraphQL spec draft's
 * "Single root field" and graphql-js 17 do: the root field must be known without variables),
 * instead of the rule throwing "… variable "$x" which was not provided a runtime value"
 * out of `validate` (a 4500 close on the socket).
 */
export const SafeSingleFieldSubscriptionsRule: ValidationRule = (context: ValidationContext): ASTVisitor => {
  const inner = SingleFieldSubscriptionsRule(context) as { OperationDefinition?: (node: OperationDefinitionNode) => void };
  return {
    OperationDefinition(node) {
      if (node.operation !== OperationTypeNode.SUBSCRIPTION) return;
      const nodes = rootDirectiveNodes(node, (name) => context.getFragment(name) ?? undefined);
      if (nodes.length > 0) {
        context.reportError(new GraphQLError(rootDirectiveMessage(node), { nodes }));
        return;
      }
      inner.OperationDefinition?.(node);
    },
  };
};

/** `rules` with graphql-js' SingleFieldSubscriptionsRule replaced by {@link SafeSingleFieldSubscriptionsRule}. */
export function withSafeSubscriptionRule(rules: readonly ValidationRule[]): ValidationRule[] {
  return rules.map((r) => (r === SingleFieldSubscriptionsRule ? SafeSingleFieldSubscriptionsRule : r));
}
