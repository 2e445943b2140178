import {
  GraphQLError,
  Kind,
  getNamedType,
  getNullableType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  type ASTVisitor,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

/**
 * Per-operation limits, as graphql-js validation rules: the same rules run on HTTP (Apollo's
 * `validationRules`) and on WebSocket (ws-lifecycle.ts' `prepare`), so neither path is softer.
 * Pure: no I/O, unit-tested beside this file.
 */
export interface QueryLimits {
  /** Deepest field nesting (a root field is depth 1; fragments and introspection count). */
  maxDepth: number;
  /** Fields whose response key is an alias different from the field name. */
  maxAliases: number;
  /** Fields selected at the top of the operation (fragments expanded). */
  maxRootFields: number;
  /** Cost budget: see {@link measureOperation}. */
  maxCost: number;
}

/** Each level of list nesting multiplies the cost of what is below it by this (a list's guessed size). */
export const LIST_FACTOR = 10;

export interface OperationMeasure {
  depth: number;
  aliases: number;
  rootFields: number;
  /**
   * 1 per field, and a field that returns a list costs 1 + LIST_FACTOR × its selection's cost.
   * Introspection fields (`__schema`, `__type`, `__typename`) are free: they read the static schema.
   */
  cost: number;
}

interface SetMeasure {
  depth: number;
  aliases: number;
  cost: number;
  fields: number;
}

const ZERO: SetMeasure = { depth: 0, aliases: 0, cost: 0, fields: 0 };

/**
 * Measures one operation. Linear in the document: each fragment is measured once (memoized),
 * so a "fragment bomb" (each fragment spreading the next twice) cannot make this exponential;
 * a fragment cycle (reported by graphql-js' NoFragmentCycles) counts as empty here.
 */
export function measureOperation(
  op: OperationDefinitionNode,
  fragmentOf: (name: string) => FragmentDefinitionNode | undefined,
  schema?: GraphQLSchema,
): OperationMeasure {
  const memo = new Map<string, SetMeasure>();
  const onPath = new Set<string>();

  const typeNamed = (name: string | undefined): GraphQLCompositeType | undefined => {
    if (!schema || !name) return undefined;
    const t = schema.getType(name);
    return t && isCompositeType(t) ? t : undefined;
  };

  const fragment = (name: string): SetMeasure => {
    const known = memo.get(name);
    if (known) return known;
    const def = fragmentOf(name);
    if (!def || onPath.has(name)) return ZERO;
    onPath.add(name);
    const m = measureSet(def.selectionSet, typeNamed(def.typeCondition.name.value));
    onPath.delete(name);
    memo.set(name, m);
    return m;
  };

  const measureSet = (set: SelectionSetNode, parent: GraphQLCompositeType | undefined): SetMeasure => {
    let depth = 0;
    let aliases = 0;
    let cost = 0;
    let fields = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) {
        const name = sel.name.value;
        fields++;
        if (sel.alias && sel.alias.value !== name) aliases++;
        const def = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[name] : undefined;
        const childType = def ? getNamedType(def.type) : undefined;
        const child = sel.selectionSet
          ? measureSet(sel.selectionSet, childType && isCompositeType(childType) ? childType : undefined)
          : ZERO;
        depth = Math.max(depth, 1 + child.depth);
        aliases += child.aliases;
        if (!name.startsWith('__')) {
          const isList = def ? isListType(getNullableType(def.type)) : false;
          cost += 1 + (isList ? LIST_FACTOR : 1) * child.cost;
        }
      } else {
        const m =
          sel.kind === Kind.INLINE_FRAGMENT
            ? measureSet(sel.selectionSet, sel.typeCondition ? typeNamed(sel.typeCondition.name.value) : parent)
            : fragment(sel.name.value);
        depth = Math.max(depth, m.depth);
        aliases += m.aliases;
        cost += m.cost;
        fields += m.fields;
      }
    }
    return { depth, aliases, cost, fields };
  };

  const root = schema?.getRootType(op.operation) ?? undefined;
  const m = measureSet(op.selectionSet, root);
  return { depth: m.depth, aliases: m.aliases, rootFields: m.fields, cost: m.cost };
}

// One measurement per operation node, shared by the four rules of one validation run.
const measured = new WeakMap<OperationDefinitionNode, OperationMeasure>();

function measureIn(context: ValidationContext, op: OperationDefinitionNode): OperationMeasure {
  let m = measured.get(op);
  if (!m) {
    m = measureOperation(op, (name) => context.getFragment(name) ?? undefined, context.getSchema());
    measured.set(op, m);
  }
  return m;
}

function limitRule(
  what: keyof OperationMeasure,
  max: number,
  message: (actual: number) => string,
): ValidationRule {
  return (context: ValidationContext): ASTVisitor => ({
    OperationDefinition(node) {
      const actual = measureIn(context, node)[what];
      if (actual > max) {
        context.reportError(
          new GraphQLError(message(actual), { nodes: [node], extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit: what } }),
        );
      }
    },
  });
}

const opName = (n: number) => (Number.isFinite(n) ? String(n) : 'unbounded');

export const maxDepthRule = (max: number): ValidationRule =>
  limitRule('depth', max, (d) => `the operation is too deep: depth ${opName(d)}, at most ${max} allowed`);

export const maxAliasesRule = (max: number): ValidationRule =>
  limitRule('aliases', max, (a) => `the operation has too many aliases: ${opName(a)}, at most ${max} allowed`);

export const maxRootFieldsRule = (max: number): ValidationRule =>
  limitRule('rootFields', max, (r) => `the operation selects too many top-level fields: ${opName(r)}, at most ${max} allowed`);

export const maxCostRule = (max: number): ValidationRule =>
  limitRule('cost', max, (c) => `the operation is too expensive: cost ${opName(c)}, at most ${max} allowed`);

/** The four limit rules, for Apollo's `validationRules` and the WebSocket path's `validate`. */
export function queryLimitRules(limits: QueryLimits): ValidationRule[] {
  return [
    maxDepthRule(limits.maxDepth),
    maxAliasesRule(limits.maxAliases),
    maxRootFieldsRule(limits.maxRootFields),
    maxCostRule(limits.maxCost),
  ];
}
