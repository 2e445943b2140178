import { ApiError, toApiError, type GraphQLErrorLike } from './lib/errors.js';

interface GraphQLResponse<T> {
  data?: T | null;
  errors?: GraphQLErrorLike[];
}

/**
 * Queries and mutations over HTTP (POST /graphql). A refused token (UNAUTHENTICATED while one was
 * sent) calls `onExpired`: the session is over and the person signs in again.
 */
export class Api {
  constructor(
    private readonly url: string,
    private readonly token: () => string | null,
    private readonly onExpired: () => void,
  ) {}

  async request<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    const token = this.token();
    let res: Response;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          ...(token ? { authorization: `Bearer ${token}` } : {}),
        },
        body: JSON.stringify({ query, variables }),
      });
    } catch {
      throw new ApiError('no answer from the server', 'NETWORK');
    }
    let body: GraphQLResponse<T>;
    try {
      body = (await res.json()) as GraphQLResponse<T>;
    } catch {
      throw new ApiError(
        `the server answered ${res.status}`,
        res.status >= 500 || res.status === 0 ? 'NETWORK' : 'INTERNAL_SERVER_ERROR',
      );
    }
    if (body.errors?.length) {
      const err = toApiError(body.errors);
      if (err.code === 'UNAUTHENTICATED' && token) this.onExpired();
      throw err;
    }
    if (!body.data) throw new ApiError('the server sent no data', 'INTERNAL_SERVER_ERROR');
    return body.data;
  }
}
