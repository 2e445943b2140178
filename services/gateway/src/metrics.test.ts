import { describe, expect, it } from 'vitest';
import { parse, getOperationAST, GraphQLError } from 'graphql';
import { createGatewayMetrics, operationLabel } from './metrics.js';

const sample = (text: string, line: string) => text.split('\n').find((l) => l.startsWith(line));
async function* stream() {
  await Promise.resolve();
  yield 1;
}

describe('gateway metrics', () => {
  it('labels an operation by its root field, bounded by the schema', () => {
    expect(
      operationLabel(
        getOperationAST(
          parse('mutation Anything { sendMessage(room: "r", body: "b", clientMsgId: "c") { id } }'),
        ),
      ),
    ).toBe('sendMessage');
    // Through fragments and inline fragments, as the document reader collects root fields.
    const fragmentRoot = parse('{ ...F } fragment F on Query { ... on Query { me { id } } }');
    expect(operationLabel(getOperationAST(fragmentRoot), fragmentRoot)).toBe('me');
    expect(operationLabel(undefined)).toBe('invalid');
  });

  it('counts subscriptions while they live and forgets a closed socket', async () => {
    const gm = createGatewayMetrics({ sockets: () => 2, rooms: () => 1 });
    const a = {};
    const b = {};
    const doc = parse('subscription { messageAdded(room: "r") { id } }');
    gm.ws.subscribe(a, '1');
    gm.ws.operation(a, '1', doc, undefined, stream());
    gm.ws.subscribe(a, '2');
    gm.ws.operation(a, '2', doc, undefined, stream());
    gm.ws.subscribe(b, '1');
    gm.ws.operation(b, '1', doc, undefined, stream());
    gm.ws.subscribe(b, '2');
    gm.ws.rejected(b, '2', [new GraphQLError('Cannot query field "nope"')]);
    let text = (await gm.metrics.render()).body;
    expect(sample(text, 'conversa_graphql_active_subscriptions')).toMatch(/ 3$/);
    expect(sample(text, 'conversa_ws_connections')).toMatch(/ 2$/);
    expect(text).toContain(
      'conversa_graphql_operations_total{transport="ws",type="subscription",operation="messageAdded",outcome="ok",service="gateway"} 3',
    );
    expect(text).toContain(
      'conversa_graphql_operations_total{transport="ws",type="unknown",operation="invalid",outcome="BAD_USER_INPUT",service="gateway"} 1',
    );
    gm.ws.complete(a, '1');
    gm.ws.complete(a, '1'); // twice: counted once
    gm.ws.closed(b);
    text = (await gm.metrics.render()).body;
    expect(sample(text, 'conversa_graphql_active_subscriptions')).toMatch(/ 1$/);
    gm.ws.closed(a);
    text = (await gm.metrics.render()).body;
    expect(sample(text, 'conversa_graphql_active_subscriptions')).toMatch(/ 0$/);
  });
});
