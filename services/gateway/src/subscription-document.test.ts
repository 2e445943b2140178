import { readFileSync } from 'node:fs';
import { buildSchema, parse, specifiedRules, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { PER_VIEWER_DIRECTIVE_SDL, readSubscription, withSafeSubscriptionRule, type SubscriptionRoot } from './subscription-document.js';

const served = buildSchema(readFileSync(new URL('./schema.graphql', import.meta.url), 'utf8'));

/** A test-only schema: nested arguments with defaults, an abstract type, a per-viewer field. */
const test = buildSchema(`
  ${PER_VIEWER_DIRECTIVE_SDL}
  type Query { x: Int }
  type Person { name: String! }
  type Bot { name: String! version: Int! }
  union Actor = Person | Bot
  type Ev {
    text(upper: Boolean = false, max: Int): String!
    by: Actor!
    mine: Boolean! @perViewer
    people: [Person!]!
  }
  type Subscription { ev(room: ID!, after: Int): Ev! }
`);

function read(query: string, variables: Record<string, unknown> = {}, schema = served, operationName?: string): SubscriptionRoot {
  const document = parse(query);
  const errors = validate(schema, document, withSafeSubscriptionRule(specifiedRules));
  if (errors.length) throw new Error(errors.map((e) => e.message).join('; '));
  const r = readSubscription(schema, document, operationName, variables);
  if (Array.isArray(r)) throw new Error(r.map((e) => e.message).join('; '));
  return r;
}
/** What a group is made of (fanout.ts): response key, root field, selection. */
const groupOf = (r: SubscriptionRoot) => [r.responseKey, r.fieldName, r.selection];

describe('readSubscription', () => {
  it('reads the root field, its arguments and its selection through a named fragment', () => {
    const r = read('subscription($r: ID!) { ...A } fragment A on Subscription { messageAdded(room: $r) { id seq } }', { r: 'lobby' });
    expect(r).toMatchObject({ fieldName: 'messageAdded', responseKey: 'messageAdded', args: { room: 'lobby' }, selection: '{id seq}', perViewer: false });
    expect(r.operation.operation).toBe('subscription');
  });

  it('expands nested fragments, and their names play no part', () => {
    const a = read(
      'subscription($r: ID!) { ...A } fragment A on Subscription { messageAdded(room: $r) { ...M } } fragment M on Message { id ...N } fragment N on Message { author { displayName } }',
      { r: 'x' },
    );
    const b = read('subscription($room: ID!) { ...Zed } fragment Zed on Subscription { messageAdded(room: $room) { id author { displayName } } }', { room: 'y' });
    expect(a.selection).toBe('{id author{displayName}}');
    expect(groupOf(a)).toEqual(groupOf(b));
  });

  it('reads an inline-fragment root and merges a field selected in several places', () => {
    const r = read('subscription($r: ID!) { ... on Subscription { messageAdded(room: $r) { seq body } } }', { r: 'x' });
    expect(r).toMatchObject({ fieldName: 'messageAdded', args: { room: 'x' }, selection: '{seq body}' });
    const merged = read('subscription { messageAdded(room: "x") { seq } ... on Subscription { messageAdded(room: "x") { body ... on Message { seq } } } }');
    expect(merged.selection).toBe('{seq body}');
  });

  it('keeps aliases: of the root field (the response key) and below it', () => {
    const r = read('subscription { m: messageAdded(room: "x") { n: seq body } }');
    expect(r).toMatchObject({ fieldName: 'messageAdded', responseKey: 'm', selection: '{n:seq body}' });
    // A field aliased to its own name is the field.
    expect(read('subscription { messageAdded: messageAdded(room: "x") { seq: seq } }').selection).toBe('{seq}');
  });

  it('applies @include/@skip with the variables, and reports the variables it read', () => {
    const q = 'subscription($r: ID!, $withBody: Boolean!) { messageAdded(room: $r) { seq body @include(if: $withBody) author @skip(if: true) { id } } }';
    const yes = read(q, { r: 'x', withBody: true });
    const no = read(q, { r: 'x', withBody: false });
    expect(yes.selection).toBe('{seq body}');
    expect(no.selection).toBe('{seq}');
    expect(yes.variablesUsed).toEqual({ withBody: true });
    // The room variable is a root argument: it shapes the stream, not the selection.
    expect(no.variablesUsed).toEqual({ withBody: false });
    expect(read('subscription { messageAdded(room: "x") { seq } }').variablesUsed).toEqual({});
  });

  it('writes argument values out: a variable, a literal and a default with equal values agree', () => {
    const viaVariable = read('subscription($u: Boolean!) { ev(room: "r") { text(upper: $u) } }', { u: true }, test);
    const literal = read('subscription { ev(room: "r") { text(upper: true) } }', {}, test);
    expect(viaVariable.selection).toBe('{text(upper:true)}');
    expect(literal.selection).toBe(viaVariable.selection);
    expect(viaVariable.variablesUsed).toEqual({ u: true });
    expect(read('subscription { ev(room: "r") { text } }', {}, test).selection).toBe(read('subscription { ev(room: "r") { text(upper: false) } }', {}, test).selection);
    // Variables in any position: nested arguments, several operations in one document.
    const doc = 'subscription A($m: Int) { ev(room: "r") { text(max: $m) } } subscription B { ev(room: "r") { people { name } } }';
    expect(read(doc, { m: 3 }, test, 'A').selection).toBe('{text(upper:false,max:3)}');
    expect(read(doc, { m: 4 }, test, 'A').selection).not.toBe(read(doc, { m: 3 }, test, 'A').selection);
    expect(read(doc, {}, test, 'B').selection).toBe('{people{name}}');
  });

  it('writes one branch per possible type below an abstract type', () => {
    const a = read('subscription { ev(room: "r") { by { __typename ... on Bot { version } ...P } } } fragment P on Actor { ... on Person { name } ... on Bot { name } }', {}, test);
    expect(a.selection).toBe('{by{...on Bot{__typename version name} ...on Person{__typename name}}}');
  });

  it('tells selections apart that receive different data', () => {
    const texts = [
      'subscription { messageAdded(room: "x") { id seq } }',
      'subscription { messageAdded(room: "x") { seq id } }',
      'subscription { messageAdded(room: "x") { id } }',
      'subscription { messageAdded(room: "x") { id n: seq } }',
      'subscription { m: messageAdded(room: "x") { id seq } }',
      'subscription { messageAdded(room: "x") { body author { displayName } } }',
      'subscription { messageUpdated(room: "x") { id seq } }',
    ].map((q) => JSON.stringify(groupOf(read(q))));
    expect(new Set(texts).size).toBe(texts.length);
  });

  it('marks a selection that touches a @perViewer field, however deep or however spread', () => {
    expect(read('subscription { ev(room: "r") { text } }', {}, test).perViewer).toBe(false);
    expect(read('subscription { ev(room: "r") { ...F } } fragment F on Ev { mine }', {}, test).perViewer).toBe(true);
    expect(read('subscription($x: Boolean!) { ev(room: "r") { text mine @include(if: $x) } }', { x: false }, test).perViewer).toBe(false);
  });

  it('reuses a reading when the selection reads no variable, never when it does', () => {
    const plain = parse('subscription($r: ID!, $a: Int) { messageAdded(room: $r, after: $a) { seq } }');
    const one = readSubscription(served, plain, undefined, { r: 'a', a: 1 });
    const two = readSubscription(served, plain, undefined, { r: 'b' });
    expect(one).toMatchObject({ args: { room: 'a', after: 1 }, selection: '{seq}' });
    expect(two).toMatchObject({ args: { room: 'b' }, selection: '{seq}' });
    const conditional = parse('subscription($r: ID!, $b: Boolean!) { messageAdded(room: $r) { seq body @include(if: $b) } }');
    expect(readSubscription(served, conditional, undefined, { r: 'a', b: true })).toMatchObject({ selection: '{seq body}' });
    expect(readSubscription(served, conditional, undefined, { r: 'a', b: false })).toMatchObject({ selection: '{seq}' });
  });

  it('refuses what is not one subscription root field, with clear errors', () => {
    const errorsOf = (query: string, variables: Record<string, unknown> = {}) => {
      const r = readSubscription(served, parse(query), undefined, variables);
      return Array.isArray(r) ? r.map((e) => [e.extensions.code, e.message]) : [];
    };
    // graphql's validation refuses this one first (SingleFieldSubscriptionsRule); the reader too.
    expect(errorsOf('subscription { a: messageAdded(room: "x") { id } b: messageAdded(room: "x") { seq } }')).toEqual([
      ['GRAPHQL_VALIDATION_FAILED', 'a subscription selects exactly one root field; this one selects 2 (a, b): open one subscription per field'],
    ]);
    expect(errorsOf('{ me { id } }')).toEqual([['GRAPHQL_VALIDATION_FAILED', 'operation is a query, not a subscription']]);
    expect(errorsOf('subscription($r: ID!) { typing(room: $r) { room } }', { r: { $ne: null } })[0]?.[0]).toBe('BAD_USER_INPUT');
  });
});

describe('withSafeSubscriptionRule', () => {
  const errorsOf = (query: string) => validate(served, parse(query), withSafeSubscriptionRule(specifiedRules)).map((e) => e.message);
  it('refuses @skip/@include on the top level of a subscription instead of throwing', () => {
    const q = 'subscription($x: Boolean!) { ...R } fragment R on Subscription { messageAdded(room: "r") @skip(if: $x) { id } }';
    expect(() => validate(served, parse(q), specifiedRules)).toThrow(/not provided a runtime value/);
    expect(errorsOf(q)).toEqual(['Anonymous Subscription must not use `@skip` or `@include` directives in the top level selection.']);
  });
  it('still refuses two root fields and lets directives below the root through', () => {
    expect(errorsOf('subscription { a: messageAdded(room: "x") { id } b: typing(room: "x") { room } }')).toEqual([
      'Anonymous Subscription must select only one top level field.',
    ]);
    expect(errorsOf('subscription($x: Boolean!) { messageAdded(room: "r") { id body @include(if: $x) } }')).toEqual([]);
  });
});
