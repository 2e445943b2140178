import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { getOperationAST, GraphQLError, OperationTypeNode, parse } from 'graphql';

/** What a subscription sent over HTTP is told. */
export const SUBSCRIPTION_OVER_HTTP =
  'subscriptions run over WebSocket: connect to /graphql with the graphql-transport-ws protocol; HTTP serves queries and mutations';

/**
 * Refuses a subscription that comes over HTTP (a POST; Apollo refuses it over GET with 405)
 * before it runs: 400, BAD_USER_INPUT (reason BAD_REQUEST) saying where subscriptions are served.
 * Without this Apollo executes it as a query: the root field has no value outside a stream, so
 * the caller got INTERNAL_SERVER_ERROR ("Cannot return null for non-nullable field
 * Subscription.…"), or a 500 for a subscription with @skip (found by the fuzz run, issue 17).
 */
export function refuseSubscriptionsOverHttp<C extends object>(): ApolloServerPlugin<C> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ operation }) {
          if (operation?.operation === OperationTypeNode.SUBSCRIPTION) {
            throw new GraphQLError(SUBSCRIPTION_OVER_HTTP, { extensions: { code: 'BAD_REQUEST', http: { status: 400, headers: new HeaderMap() } } });
          }
          return Promise.resolve();
        },
      });
    },
  };
}

/**
 * True when the request's operation is a subscription: checked in http.ts before Apollo runs,
 * because Apollo validates with graphql-js' own SingleFieldSubscriptionsRule, which throws on a
 * subscription with `@skip`/`@include` on its root field (Apollo answers that 500) before any
 * plugin could refuse it. Only documents that contain the word are parsed; one that does not
 * parse is left to Apollo, which reports it.
 */
export function isSubscriptionRequest(query: unknown, operationName: unknown, maxTokens: number): boolean {
  if (typeof query !== 'string' || !query.includes('subscription')) return false;
  try {
    const op = getOperationAST(parse(query, { maxTokens }), typeof operationName === 'string' ? operationName : undefined);
    return op?.operation === OperationTypeNode.SUBSCRIPTION;
  } catch {
    return false;
  }
}
