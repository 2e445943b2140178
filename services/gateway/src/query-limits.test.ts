import { readFileSync } from 'node:fs';
import { Kind, buildSchema, getIntrospectionQuery, parse, specifiedRules, validate, type OperationDefinitionNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { LIST_FACTOR, measureOperation, queryLimitRules, type QueryLimits } from './query-limits.js';

const schema = buildSchema(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

function measure(source: string) {
  const doc = parse(source);
  const op = doc.definitions.find((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION)!;
  const fragments = new Map(doc.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  return measureOperation(op, (n) => fragments.get(n), schema);
}

const generous: QueryLimits = { maxDepth: 15, maxAliases: 30, maxRootFields: 20, maxCost: 5_000 };
const errorsOf = (source: string, limits: QueryLimits = generous) =>
  validate(schema, parse(source), [...specifiedRules, ...queryLimitRules(limits)]).map((e) => e.message);

describe('measureOperation', () => {
  it('counts depth from the root field, through inline fragments and named fragments', () => {
    expect(measure('{ me { id } }').depth).toBe(2);
    expect(measure('{ messages(room: "r") { messages { author { id } } } }').depth).toBe(4);
    expect(measure('{ messages(room: "r") { ...P } } fragment P on MessagePage { messages { ... on Message { author { id } } } }').depth).toBe(4);
  });

  it('counts aliases that rename, not a field aliased to its own name', () => {
    expect(measure('{ a: me { id } b: me { x: id } me { id: id } }').aliases).toBe(3);
  });

  it('counts root fields with fragments expanded', () => {
    expect(measure('{ me { id } rooms { id } ...Q } fragment Q on Query { users { id } a: me { id } }').rootFields).toBe(4);
  });

  it('multiplies the cost below each list by LIST_FACTOR and leaves introspection free', () => {
    // rooms (list): 1 + 10 × (id + members(list): 1 + 10 × (id + online)) = 1 + 10 × (1 + 1 + 10 × 2)
    expect(measure('{ rooms { id members { id online } } }').cost).toBe(1 + LIST_FACTOR * (1 + 1 + LIST_FACTOR * 2));
    expect(measure('{ me { id __typename } }').cost).toBe(2);
    expect(measure('{ __schema { types { fields { name } } } }').cost).toBe(0);
  });

  it('stays linear on a fragment bomb and terminates on fragment cycles', () => {
    const bomb = Array.from({ length: 40 }, (_, i) => `fragment F${i} on Query { ...F${i + 1} ...F${i + 1} }`).join('\n');
    const started = Date.now();
    const m = measure(`{ ...F0 } ${bomb} fragment F40 on Query { me { id } }`);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(m.rootFields).toBe(2 ** 40);
    expect(measure('{ ...A } fragment A on Query { ...B me { id } } fragment B on Query { ...A }').rootFields).toBe(1);
  });

  it('fits the standard introspection query in the default depth (GraphiQL in development)', () => {
    expect(measure(getIntrospectionQuery()).depth).toBeLessThanOrEqual(generous.maxDepth);
  });
});

describe('queryLimitRules', () => {
  it('lets ordinary operations through', () => {
    expect(errorsOf('{ me { id } rooms { id name members { id displayName online } online { id } lastSeq } }')).toEqual([]);
    expect(errorsOf(getIntrospectionQuery())).toEqual([]);
  });

  it('refuses a depth bomb', () => {
    const deep = `{ __schema { types { ${'fields { type { '.repeat(10)}name${' } }'.repeat(10)} } } }`;
    expect(errorsOf(deep)).toContainEqual(expect.stringMatching(/too deep: depth 2\d, at most 15/));
  });

  it('refuses an alias bomb', () => {
    const aliases = Array.from({ length: 500 }, (_, i) => `a${i}: me { id }`).join(' ');
    expect(errorsOf(`{ ${aliases} }`)).toContainEqual(expect.stringMatching(/too many aliases: 500, at most 30/));
  });

  it('refuses too many root fields', () => {
    const roots = Array.from({ length: 21 }, () => 'me { id }').join(' ');
    const fields = `{ ${roots} }`;
    expect(errorsOf(fields, { ...generous, maxRootFields: 20 })).toContainEqual(expect.stringMatching(/too many top-level fields: 21, at most 20/));
  });

  it('refuses an operation over the cost budget', () => {
    const q = '{ rooms { members { id username displayName online role } online { id username } } }';
    expect(errorsOf(q, { ...generous, maxCost: 100 })).toContainEqual(expect.stringMatching(/too expensive: cost \d+, at most 100/));
    expect(errorsOf(q)).toEqual([]);
  });

  it('applies per operation: each operation of a document is measured on its own', () => {
    const doc = 'query A { a: me { id } b: me { id } } query B { me { id } }';
    expect(errorsOf(doc, { ...generous, maxAliases: 1 })).toEqual([expect.stringMatching(/too many aliases: 2/)]);
  });
});
