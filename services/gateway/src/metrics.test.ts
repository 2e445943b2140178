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

  it('counts subscriptions while they live, each end once', async () => {
    const gm = createGatewayMetrics({ sockets: () => 2, rooms: () => 1 });
    const doc = parse('subscription { messageAdded(room: "r") { id } }');
    const t = process.hrtime.bigint();
    gm.ws.established(doc, undefined, stream(), t);
    gm.ws.established(doc, undefined, stream(), t);
    gm.ws.established(doc, undefined, stream(), t);
    gm.ws.rejected([new GraphQLError('Cannot query field "nope"')], t);
    let text = (await gm.metrics.render()).body;
    expect(sample(text, 'conversa_graphql_active_subscriptions')).toMatch(/ 3$/);
    expect(sample(text, 'conversa_ws_connections')).toMatch(/ 2$/);
    expect(text).toContain(
      'conversa_graphql_operations_total{transport="ws",type="subscription",operation="messageAdded",outcome="ok",service="gateway"} 3',
    );
    expect(text).toContain(
      'conversa_graphql_operations_total{transport="ws",type="unknown",operation="invalid",outcome="BAD_USER_INPUT",service="gateway"} 1',
    );
    gm.ws.completed(true);
    gm.ws.completed(false); // a query's end: not a subscription
    text = (await gm.metrics.render()).body;
    expect(sample(text, 'conversa_graphql_active_subscriptions')).toMatch(/ 2$/);
    gm.ws.completed(true);
    gm.ws.completed(true);
    text = (await gm.metrics.render()).body;
    expect(sample(text, 'conversa_graphql_active_subscriptions')).toMatch(/ 0$/);
  });
});
