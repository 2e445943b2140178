/**
 * fast-check arbitraries for the fuzz run (issue 17): GraphQL operations generated from the
 * served schema with random and hostile arguments, HTTP request shapes around them, and
 * sequences of graphql-transport-ws client actions. Pure: no I/O; everything that depends on
 * the running system (ids, tokens) comes in as {@link Pools}, indexed deterministically, so a
 * seed replays the same inputs against a new system.
 */
import fc from 'fast-check';
import {
  getNamedType,
  isCompositeType,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLSchema,
} from 'graphql';

/** What the running system has: real ids and tokens, so that some arguments hit real data. */
export interface Pools {
  roomIds: string[];
  userIds: string[];
  messageIds: string[];
  usernames: string[];
  /** Valid bearer tokens (users, an admin). */
  tokens: string[];
}

export type OpType = 'query' | 'mutation' | 'subscription';

/** One GraphQL request as a client would send it (any of its members may be of a wrong type). */
export interface GqlCase {
  /** What kind of document it is (for the summary and the report). */
  shape: string;
  op: OpType | 'unknown';
  field: string;
  query: unknown;
  variables?: unknown;
  operationName?: unknown;
  extensions?: unknown;
}

/** Which Authorization header a request carries. */
export type Auth = { kind: 'token'; index: number } | { kind: 'none' } | { kind: 'header'; value: string };

export interface HttpCase {
  method: 'POST' | 'GET';
  gateway: number;
  auth: Auth;
  contentType: string;
  /** Apollo's CSRF prevention lets a request through with this header (or a JSON content type). */
  preflight: boolean;
  /** How the body is written: the case as JSON, a batch of it, raw text, or nothing. */
  body: 'json' | 'batch' | 'invalid-json' | 'empty' | 'text';
  rawText: string;
  gql: GqlCase;
}

// ---- hostile values --------------------------------------------------------------------------

/** Injection shapes and oddities, as strings. */
export const HOSTILE_STRINGS: readonly string[] = [
  '{"$gt":""}',
  '{"$ne":null}',
  '{"$where":"sleep(5000)"}',
  '{"$regex":".*"}',
  '$gt',
  '$where',
  "' OR '1'='1",
  "1; DROP TABLE messages; --",
  "') OR 1=1 --",
  "'; SELECT pg_sleep(5); --",
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  'javascript:alert(1)',
  '\u0000',
  'a\u0000b',
  '\uD800',
  '\uDFFF',
  '\uFFFE\uFFFF',
  '\u202Eevil',
  '\u200B\u200D',
  'e\u0301\u0301\u0301',
  '🏳️‍🌈',
  'ﷺ',
  '%00',
  '%s%s%n',
  '${7*7}',
  '{{7*7}}',
  '../../../etc/passwd',
  '__proto__',
  'constructor',
  'prototype',
  'null',
  'undefined',
  'NaN',
  '-1',
  '9007199254740993',
  '',
  ' ',
  '\n\r\t',
  'general',
  'ADMIN',
  'a'.repeat(4_001),
  'a'.repeat(129),
];

// Built once: fc.stringMatching compiles its pattern into an arbitrary, which costs.
const HEX24 = fc.stringMatching(/^[0-9a-f]{24}$/);
const HEX64 = fc.stringMatching(/^[0-9a-f]{64}$/);
const NAME_LIKE = fc.stringMatching(/^[a-z0-9_.-]{3,20}$/);

/** Mongo operators as objects (for JSON scalars and wrongly typed variables). */
const mongoObject: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.constantFrom<Record<string, unknown>>(
    { $gt: '' },
    { $ne: null },
    { $where: 'sleep(5000)' },
    { $regex: '.*' },
    { $in: [] },
    { $exists: true },
    JSON.parse('{"__proto__":{"admin":true}}') as Record<string, unknown>,
    { constructor: { prototype: { polluted: true } } },
  ),
  fc.dictionary(fc.constantFrom('$gt', '$ne', '$regex', '$exists', '$where', '$expr', '$function', '$lookup'), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);

/** One character repeated until the string is large (up to ~2.4 MB: some pass the 1 MiB body cap). */
const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom('a', 'é', '𝕏', '\u0000', '<', "'", '{"$gt":""}'), fc.integer({ min: 1_000, max: 600_000 }))
  .map(([c, n]) => c.repeat(Math.ceil(n / c.length)));

/** A value nested `depth` times in arrays or objects (deep nesting of variables). */
const deepNest: fc.Arbitrary<unknown> = fc.tuple(fc.integer({ min: 10, max: 1_000 }), fc.boolean()).map(([depth, arrays]) => {
  let v: unknown = 'deep';
  for (let i = 0; i < depth; i++) v = arrays ? [v] : { a: v };
  return v;
});

/**
 * Built once per pools: building arbitraries costs (jsonValue, stringMatching…), and every
 * argument of every root field uses these.
 */
function once<T>(make: (pools: Pools) => T): (pools: Pools) => T {
  const made = new WeakMap<Pools, T>();
  return (pools) => {
    let v = made.get(pools);
    if (v === undefined) {
      v = make(pools);
      made.set(pools, v);
    }
    return v;
  };
}

export const hostileString = once((pools: Pools): fc.Arbitrary<string> => {
  const known = [...pools.roomIds, ...pools.userIds, ...pools.messageIds, ...pools.usernames];
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 64 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 300 }) },
    { weight: 3, arbitrary: fc.constantFrom(...known) },
    { weight: 1, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: HEX24 },
    { weight: 1, arbitrary: hugeString },
  );
});

/** Anything JSON can say, with a hostile slant: for wrongly typed arguments. */
export const anyValue = once((pools: Pools): fc.Arbitrary<unknown> => {
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    { weight: 2, arbitrary: mongoObject },
    { weight: 1, arbitrary: deepNest },
    { weight: 3, arbitrary: hostileString(pools) },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 31, -(2 ** 31) - 1, 2 ** 53 + 1, 1e308, -0, 0.5, Number.MAX_SAFE_INTEGER) },
    { weight: 1, arbitrary: fc.array(hostileString(pools), { maxLength: 4 }) },
    { weight: 1, arbitrary: fc.constant(null) },
  );
});

// ---- schema-driven values ----------------------------------------------------------------------

/** A value of the argument's type (mostly), or of a wrong one. */
const values = new WeakMap<Pools, Map<string, fc.Arbitrary<unknown>>>();
function valueFor(type: GraphQLInputType, pools: Pools, depth = 0): fc.Arbitrary<unknown> {
  let byType = values.get(pools);
  if (!byType) values.set(pools, (byType = new Map<string, fc.Arbitrary<unknown>>()));
  const key = `${String(type)}@${depth}`;
  let v = byType.get(key);
  if (!v) byType.set(key, (v = makeValueFor(type, pools, depth)));
  return v;
}

function makeValueFor(type: GraphQLInputType, pools: Pools, depth: number): fc.Arbitrary<unknown> {
  const wrong = anyValue(pools);
  const nonNull = isNonNullType(type);
  const inner = nonNull ? type.ofType : type;
  let right: fc.Arbitrary<unknown>;
  if (isListType(inner)) {
    right = depth > 2 ? fc.constant([]) : fc.array(valueFor(inner.ofType, pools, depth + 1), { maxLength: 5 });
  } else if (isEnumType(inner)) {
    right = fc.constantFrom(...inner.getValues().map((v) => v.name));
  } else if (isInputObjectType(inner)) {
    const fields = Object.values(inner.getFields());
    right =
      depth > 2
        ? fc.constant({})
        : fc.record(Object.fromEntries(fields.map((f) => [f.name, valueFor(f.type, pools, depth + 1)])), { requiredKeys: [] });
  } else {
    switch (inner.name) {
      case 'Int':
        right = fc.oneof(fc.integer({ min: -5, max: 200 }), fc.constantFrom(0, -1, 1, 2_147_483_647, -2_147_483_648, 3_600, 3_601));
        break;
      case 'Float':
        right = fc.double({ noNaN: true, noDefaultInfinity: true });
        break;
      case 'Boolean':
        right = fc.boolean();
        break;
      case 'DateTime':
        right = fc.oneof(
          fc.date({ noInvalidDate: true, min: new Date(-8.64e15), max: new Date(8.64e15) }).map((d) => d.toISOString()),
          fc.constantFrom('2026-13-45T99:99:99Z', 'yesterday', '0', '1970-01-01T00:00:00Z'),
        );
        break;
      case 'ID':
        right = fc.oneof(
          { weight: 3, arbitrary: fc.constantFrom(...pools.roomIds, ...pools.userIds, ...pools.messageIds) },
          { weight: 2, arbitrary: hostileString(pools) },
        );
        break;
      case 'JSON':
        right = fc.oneof(fc.jsonValue(), mongoObject, deepNest);
        break;
      default:
        right = fc.oneof(
          { weight: 2, arbitrary: NAME_LIKE },
          { weight: 3, arbitrary: hostileString(pools) },
        );
    }
  }
  return fc.oneof(
    { weight: 7, arbitrary: right },
    { weight: 2, arbitrary: wrong },
    { weight: nonNull ? 1 : 2, arbitrary: fc.constant(null) },
  );
}

/** `arb` one time in `every`, else null. */
const sometimes = <T>(arb: fc.Arbitrary<T>, every: number): fc.Arbitrary<T | null> =>
  fc.oneof({ weight: every - 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: arb });

const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;

/**
 * A JSON value as a GraphQL literal. Object keys that are not names and enum-like strings stay
 * as they come: a document that does not parse is a case too.
 */
export function literal(v: unknown, enumValues?: readonly string[], depth = 0): string {
  // Deeper literals than this are cut (the token limit refuses them long before, unparsed).
  if (depth > 300) return '"…"';
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return enumValues?.includes(v) ? v : JSON.stringify(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
  if (typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return `[${v.map((x) => literal(x, undefined, depth + 1)).join(', ')}]`;
  return `{${Object.entries(v as Record<string, unknown>)
    .map(([k, x]) => `${NAME.test(k) ? k : JSON.stringify(k)}: ${literal(x, undefined, depth + 1)}`)
    .join(', ')}}`;
}

/** Fields of a composite type that take no required argument. */
function plainFields(t: GraphQLNamedType): GraphQLField<unknown, unknown>[] {
  if (!isObjectType(t) && !isInterfaceType(t)) return [];
  return Object.values(t.getFields()).filter((f) => f.args.every((a) => !isNonNullType(a.type) || a.defaultValue !== undefined));
}

/** A selection set for the type (empty for leaves), up to `depth` levels. */
export function selectionFor(t: GraphQLNamedType, depth: number): fc.Arbitrary<string> {
  if (!isCompositeType(t)) return fc.constant('');
  const fields = plainFields(t);
  const usable = depth <= 1 ? fields.filter((f) => !isCompositeType(getNamedType(f.type))) : fields;
  if (usable.length === 0) return fc.constant(' { __typename }');
  return fc
    .subarray(usable, { minLength: 1, maxLength: Math.min(4, usable.length) })
    .chain((fs) => fc.tuple(...fs.map((f) => selectionFor(getNamedType(f.type), depth - 1).map((s) => `${f.name}${s}`))))
    .map((parts) => ` { ${parts.join(' ')} }`);
}

/** Fields the fuzz always selects on a root field, so its answer can be checked afterwards. */
const ALWAYS: Record<string, string> = { sendMessage: 'id room seq clientMsgId' };

interface ArgPlan {
  arg: GraphQLArgument;
  /** As a variable (declared with `declared`), inline as a literal, or left out. */
  mode: 'var' | 'literal' | 'omit';
  declared: string;
  value: unknown;
}

const WRONG_DECLARATIONS = ['String', 'String!', 'Int', 'ID!', '[ID!]', 'Boolean', 'JSON', 'Unknown', '[[String]]'];

function argPlan(arg: GraphQLArgument, pools: Pools): fc.Arbitrary<ArgPlan> {
  return fc.record({
    arg: fc.constant(arg),
    mode: fc.constantFrom<ArgPlan['mode']>('var', 'var', 'var', 'literal', 'literal', 'omit'),
    declared: fc.oneof({ weight: 9, arbitrary: fc.constant(String(arg.type)) }, { weight: 1, arbitrary: fc.constantFrom(...WRONG_DECLARATIONS) }),
    value: valueFor(arg.type, pools),
  });
}

/** A well-formed (mostly valid) operation on one root field with generated arguments. */
function rootFieldCase(schema: GraphQLSchema, pools: Pools, op: OpType, field: GraphQLField<unknown, unknown>): fc.Arbitrary<GqlCase> {
  const enumOf = (a: GraphQLArgument) => {
    const t = getNamedType(a.type);
    return isEnumType(t) ? t.getValues().map((v) => v.name) : undefined;
  };
  return fc
    .record({
      plans: fc.tuple(...field.args.map((a) => argPlan(a, pools))),
      // A declared variable left out of `variables` (missing variables).
      missing: fc.array(fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }), {
        minLength: field.args.length,
        maxLength: field.args.length,
      }),
      selection: selectionFor(getNamedType(field.type), 4),
      extraVars: sometimes(fc.dictionary(fc.string({ maxLength: 8 }), anyValue(pools), { minKeys: 1, maxKeys: 3 }), 8),
      extraArg: sometimes(fc.tuple(fc.constantFrom('password', 'role', 'where', '_id', 'filter', '$gt'), anyValue(pools)), 10),
      name: sometimes(fc.constantFrom('Fuzz', 'op_1', 'Other'), 3),
      operationName: sometimes(fc.oneof(fc.constantFrom('Fuzz', 'Other', ''), anyValue(pools)), 8),
      extensions: sometimes(
        fc.oneof(
          fc.record({ persistedQuery: fc.record({ version: fc.constantFrom(1, 2, 'x'), sha256Hash: HEX64 }) }),
          fc.dictionary(fc.string({ maxLength: 8 }), anyValue(pools), { maxKeys: 2 }),
        ),
        10,
      ),
    })
    .map(({ plans, missing, selection, extraVars, extraArg, name, operationName, extensions }) => {
      const decls: string[] = [];
      const args: string[] = [];
      const variables: Record<string, unknown> = {};
      plans.forEach((p, i) => {
        if (p.mode === 'omit') return;
        if (p.mode === 'literal') {
          args.push(`${p.arg.name}: ${literal(p.value, enumOf(p.arg))}`);
          return;
        }
        decls.push(`$v${i}: ${p.declared}`);
        args.push(`${p.arg.name}: $v${i}`);
        if (!missing[i]) variables[`v${i}`] = p.value;
      });
      if (extraArg) args.push(`${extraArg[0].startsWith('$') ? 'x' : extraArg[0]}: ${literal(extraArg[1])}`);
      const always = ALWAYS[field.name];
      const sel = always && selection ? ` { ${always} ${selection.slice(3)}` : selection;
      const header = `${op}${name ? ` ${name}` : ''}${decls.length ? `(${decls.join(', ')})` : ''}`;
      const query = `${header} { ${field.name}${args.length ? `(${args.join(', ')})` : ''}${sel} }`;
      return {
        shape: 'generated',
        op,
        field: field.name,
        query,
        variables: extraVars ? { ...variables, ...extraVars } : variables,
        ...(operationName !== null ? { operationName } : {}),
        ...(extensions !== null ? { extensions } : {}),
      } satisfies GqlCase;
    });
}

/** Every root field of the schema, as [operation type, field]. */
export function rootFields(schema: GraphQLSchema): [OpType, GraphQLField<unknown, unknown>][] {
  const out: [OpType, GraphQLField<unknown, unknown>][] = [];
  for (const [op, t] of [
    ['query', schema.getQueryType()],
    ['mutation', schema.getMutationType()],
    ['subscription', schema.getSubscriptionType()],
  ] as const) {
    for (const f of Object.values(t?.getFields() ?? {})) out.push([op, f]);
  }
  return out;
}

/** Documents built to hit the limits and the parser: bombs, cycles, garbage. */
function hostileDocument(pools: Pools, generated: fc.Arbitrary<GqlCase>): fc.Arbitrary<GqlCase> {
  const doc = (shape: string, query: fc.Arbitrary<unknown>, variables: fc.Arbitrary<unknown> = fc.constant({})) =>
    fc.record({ query, variables }).map(({ query, variables }) => ({ shape, op: 'unknown' as const, field: '-', query, variables }));
  return fc.oneof(
    doc('garbage', fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.constantFrom('{', '}', 'query {', '{ me { id }', 'mutation', '"""', '#', '{ me { id } } }'))),
    generated.chain((g) => fc.nat(String(g.query).length).map((n) => ({ ...g, shape: 'truncated', query: String(g.query).slice(0, n) }))),
    doc('token bomb', fc.integer({ min: 100, max: 3_000 }).map((n) => `{ ${'me { id } '.repeat(n)} }`)),
    doc('alias bomb', fc.integer({ min: 10, max: 500 }).map((n) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: me { id }`).join(' ')} }`)),
    doc('root field bomb', fc.integer({ min: 15, max: 60 }).map((n) => `{ ${'rooms { id } '.repeat(n)} }`)),
    doc(
      'deep fragments',
      fc.integer({ min: 5, max: 1_500 }).map((n) => `{ ${'... on Query { '.repeat(n)}me { id }${' }'.repeat(n)} }`),
    ),
    doc(
      'cost bomb',
      fc.constantFrom(
        '{ rooms { members { id } online { id } lastMessage { reactions { users { id } } mentions { id } } } inbox { rooms { members { id } readBy { user { id } } } } }',
        '{ r1: rooms { members { id } } r2: rooms { members { id } } r3: rooms { members { id } } r4: rooms { members { id } } r5: rooms { members { id } } r6: rooms { members { id } } }',
      ),
    ),
    doc('fragment cycle', fc.constant('query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }')),
    doc('fragment doubling', fc.integer({ min: 5, max: 40 }).map((n) => {
      const frags = Array.from({ length: n }, (_, i) => `fragment F${i} on Query { ${i + 1 < n ? `...F${i + 1} ...F${i + 1}` : 'me { id }'} }`);
      return `query { ...F0 } ${frags.join(' ')}`;
    })),
    doc('introspection', fc.constantFrom('{ __schema { types { name fields { name } } } }', '{ __type(name: "User") { fields { name } } }', '{ __typename }')),
    doc('two operations', fc.constant('query A { me { id } } query B { rooms { id } }')),
    doc('unknown field', fc.constantFrom('{ me { password } }', '{ users { passwordHash } }', '{ dbStats }', '{ me { id @unknown } }', '{ me @skip(if: "yes") { id } }')),
    doc('subscription with @skip', fc.constantFrom(
      'subscription($s: Boolean!) { messageAdded(room: "x") @skip(if: $s) { id } }',
      'subscription { a: messageAdded(room: "x") { id } b: typing(room: "x") { room } }',
    ), fc.constant({ s: true })),
    // Validation covers the whole document, not only the operation chosen (Apollo answered 500).
    doc('query beside a subscription with @skip', fc.constantFrom(
      'query Q { me { id } } subscription S($s: Boolean!) { messageAdded(room: "x") @skip(if: $s) { id } }',
      'query Q { me { id } } subscription S { ...F } fragment F on Subscription { messageAdded(room: "x") @include(if: true) { id } }',
    ), fc.constant({ s: true })).map((c) => ({ ...c, operationName: 'Q' })),
    doc('query not a string', anyValue(pools)),
    doc('variables not an object', fc.constant('query($r: ID!) { room(id: $r) { id } }'), fc.oneof(fc.string(), fc.array(fc.jsonValue()), fc.integer(), fc.constant('{"r":"x"}'))),
  );
}

/** A GraphQL request: mostly generated from the schema, sometimes a hostile document. */
const gqlCases = new WeakMap<Pools, fc.Arbitrary<GqlCase>>();
export function gqlCase(schema: GraphQLSchema, pools: Pools): fc.Arbitrary<GqlCase> {
  const known = gqlCases.get(pools);
  if (known) return known;
  const generated = fc.oneof(...rootFields(schema).map(([op, f]) => rootFieldCase(schema, pools, op, f)));
  // Sends that mostly succeed (real rooms, hostile bodies, a few clientMsgIds that repeat): the
  // consistency check afterwards needs acknowledged messages, retries included.
  const send = fc
    .record({ r: fc.constantFrom(...pools.roomIds), b: hostileString(pools), c: fc.oneof(fc.constantFrom('c1', 'c2', 'c3'), fc.uuid()) })
    .map((variables): GqlCase => ({
      shape: 'send',
      op: 'mutation',
      field: 'sendMessage',
      query: 'mutation($r: ID!, $b: String!, $c: String!) { sendMessage(room: $r, body: $b, clientMsgId: $c) { id room seq clientMsgId body status } }',
      variables,
    }));
  const arb = fc.oneof({ weight: 7, arbitrary: generated }, { weight: 2, arbitrary: hostileDocument(pools, generated) }, { weight: 1, arbitrary: send });
  gqlCases.set(pools, arb);
  return arb;
}

export function authArb(pools: Pools): fc.Arbitrary<Auth> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.nat(pools.tokens.length - 1).map((index) => ({ kind: 'token' as const, index })) },
    { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom('Bearer', 'Bearer ', 'Bearer garbage', 'Basic YWRtaW46YWRtaW4=', 'bearer x.y.z', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'),
          fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
          fc.nat(pools.tokens.length - 1).map((i) => `Bearer ${pools.tokens[i]}x`),
        )
        // Header values may not hold control characters or non-Latin-1: fetch refuses to send them.
        .map((v) => ({ kind: 'header' as const, value: v.replace(/[^\x20-\x7e]/g, '?').trim() })),
    },
  );
}

export function httpCase(schema: GraphQLSchema, pools: Pools, gateways: number): fc.Arbitrary<HttpCase> {
  return fc.record({
    method: fc.constantFrom<HttpCase['method']>('POST', 'POST', 'POST', 'GET'),
    gateway: fc.nat(gateways - 1),
    auth: authArb(pools),
    contentType: fc.constantFrom(
      'application/json',
      'application/json',
      'application/json',
      'application/json; charset=utf-8',
      'application/graphql-response+json',
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/graphql',
      '',
    ),
    preflight: fc.boolean(),
    body: fc.constantFrom<HttpCase['body']>('json', 'json', 'json', 'json', 'json', 'json', 'batch', 'invalid-json', 'empty', 'text'),
    rawText: fc.oneof(fc.string({ unit: 'binary', maxLength: 100 }), fc.constantFrom('{', '{"query":', '[', 'null', '"x"', '{"query": "{ me { id } }",}')),
    gql: gqlCase(schema, pools),
  });
}

// ---- graphql-transport-ws ---------------------------------------------------------------------

export type WsAction =
  | { t: 'init'; payload: unknown }
  | { t: 'init-storm'; n: number }
  | { t: 'subscribe'; id: string; payload: unknown }
  | { t: 'complete'; id: string }
  | { t: 'ping' | 'pong'; payload: unknown }
  | { t: 'ping-storm'; n: number; pong: boolean }
  | { t: 'text'; text: string }
  | { t: 'binary'; bytes: Uint8Array }
  | { t: 'invalid-utf8' }
  | { t: 'oversized'; extra: number; binary: boolean }
  /** Waits until the gateway answered a ping (or closed): a point where it caught up. */
  | { t: 'barrier' };

export interface WsCase {
  /** The subprotocols offered at the upgrade. */
  protocols: string[];
  gateway: number;
  actions: WsAction[];
}

/** A payload of `subscribe` that is a valid message (mostly) with a generated operation. */
function subscribePayload(schema: GraphQLSchema, pools: Pools): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: gqlCase(schema, pools).map((c) => ({ query: c.query, variables: c.variables, ...(c.operationName !== undefined ? { operationName: c.operationName } : {}), ...(c.extensions !== undefined ? { extensions: c.extensions } : {}) })) },
    { weight: 2, arbitrary: fc.constantFrom(...pools.roomIds).map((r) => ({ query: 'subscription($r: ID!) { messageAdded(room: $r) { id seq } }', variables: { r } })) },
    { weight: 1, arbitrary: fc.constant({ query: '{ me { id } }' }) },
    { weight: 1, arbitrary: anyValue(pools) },
  );
}

export function wsCase(schema: GraphQLSchema, pools: Pools, gateways: number, maxPayload: number): fc.Arbitrary<WsCase> {
  const ids = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('1', '2', '3') }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) });
  const token = fc.nat(pools.tokens.length - 1).map((i) => pools.tokens[i]!);
  const initPayload = fc.oneof(
    { weight: 6, arbitrary: token.map((t) => ({ authorization: `Bearer ${t}` })) },
    { weight: 1, arbitrary: fc.constantFrom<unknown>({}, null, undefined, { authorization: 'Bearer garbage' }, { authorization: 42 }, 'x', [1]) },
    { weight: 1, arbitrary: fc.string({ minLength: 4_100, maxLength: 6_000 }).map((s) => ({ authorization: s })) },
    { weight: 1, arbitrary: anyValue(pools) },
  );
  const action: fc.Arbitrary<WsAction> = fc.oneof(
    { weight: 4, arbitrary: initPayload.map((payload) => ({ t: 'init' as const, payload })) },
    { weight: 1, arbitrary: fc.integer({ min: 2, max: 20 }).map((n) => ({ t: 'init-storm' as const, n })) },
    { weight: 6, arbitrary: fc.record({ id: ids, payload: subscribePayload(schema, pools) }).map((r) => ({ t: 'subscribe' as const, ...r })) },
    { weight: 2, arbitrary: ids.map((id) => ({ t: 'complete' as const, id })) },
    { weight: 2, arbitrary: fc.record({ t: fc.constantFrom<'ping' | 'pong'>('ping', 'pong'), payload: fc.option(fc.oneof(fc.jsonValue({ maxDepth: 2 }), anyValue(pools)), { nil: undefined }) }) },
    { weight: 1, arbitrary: fc.record({ n: fc.integer({ min: 10, max: 500 }), pong: fc.boolean() }).map((r) => ({ t: 'ping-storm' as const, ...r })) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json({ maxDepth: 3 }),
          fc.constantFrom('{', '[]', 'null', '1', '""', '{"type":"next","id":"1","payload":{}}', '{"type":"connection_ack"}', '{"type":"error","id":"1","payload":[]}', '{"type":"subscribe"}', '{"type":"subscribe","id":"1"}', '{"type":"complete"}', '{"type":"complete","id":""}', '{"type":"CONNECTION_INIT"}', '{"type":"start","id":"1","payload":{"query":"{ me { id } }"}}'),
        )
        .map((text) => ({ t: 'text' as const, text })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.uint8Array({ maxLength: 256 }), fc.constantFrom('{"type":"ping"}', '{"type":"connection_init"}').map((s) => new Uint8Array(Buffer.from(s))))
        .map((bytes) => ({ t: 'binary' as const, bytes })),
    },
    { weight: 1, arbitrary: fc.constant({ t: 'invalid-utf8' as const }) },
    { weight: 1, arbitrary: fc.record({ extra: fc.integer({ min: 1, max: maxPayload }), binary: fc.boolean() }).map((r) => ({ t: 'oversized' as const, ...r })) },
    { weight: 2, arbitrary: fc.constant({ t: 'barrier' as const }) },
  );
  return fc.record({
    protocols: fc.oneof(
      { weight: 12, arbitrary: fc.constant<string[]>(['graphql-transport-ws']) },
      { weight: 1, arbitrary: fc.constantFrom<string[]>([], ['graphql-ws'], ['graphql-ws', 'graphql-transport-ws'], ['x-unknown']) },
    ),
    gateway: fc.nat(gateways - 1),
    actions: fc.array(action, { minLength: 1, maxLength: 25 }),
  });
}
