import { HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { getOperationAST, GraphQLError, OperationTypeNode, parse } from 'graphql';
import { rootDirectiveError } from './subscription-document.js';

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

/** Why http.ts answers a request 400 before Apollo sees it: Apollo would answer it with a 500. */
export interface HttpRefusal {
  message: string;
  /** Public code BAD_USER_INPUT; the reason says which. */
  reason: 'BAD_REQUEST' | 'GRAPHQL_VALIDATION_FAILED';
}

/**
 * Checked in http.ts before Apollo runs, because Apollo validates with graphql-js' own
 * SingleFieldSubscriptionsRule, which throws on a subscription with `@skip`/`@include` on its
 * root field (Apollo answers that 500) before any plugin could refuse it:
 * - the selected operation is a subscription: SUBSCRIPTION_OVER_HTTP (BAD_REQUEST);
 * - another operation of the document is such a subscription (validation covers the whole
 *   document, found by the fuzz run): the WebSocket path's validation message.
 * Only documents that contain the word are parsed; one that does not parse is left to Apollo,
 * which reports it.
 */
export function refusalOverHttp(query: unknown, operationName: unknown, maxTokens: number): HttpRefusal | null {
  if (typeof query !== 'string' || !query.includes('subscription')) return null;
  let document;
  try {
    document = parse(query, { maxTokens });
  } catch {
    return null;
  }
  const op = getOperationAST(document, typeof operationName === 'string' ? operationName : undefined);
  if (op?.operation === OperationTypeNode.SUBSCRIPTION) return { message: SUBSCRIPTION_OVER_HTTP, reason: 'BAD_REQUEST' };
  const invalid = rootDirectiveError(document);
  return invalid === null ? null : { message: invalid, reason: 'GRAPHQL_VALIDATION_FAILED' };
}
