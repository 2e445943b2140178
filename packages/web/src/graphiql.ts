/**
 * GraphiQL, bundled (no CDN): queries and mutations over HTTP, subscriptions over graphql-ws.
 * The Authorization header of the Headers editor is also sent as the WebSocket's
 * connectionParams, so one token serves both.
 */
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import './graphiql.css';
import {
  createGraphiQLFetcher,
  type Fetcher,
  type FetcherOpts,
  type FetcherParams,
} from '@graphiql/toolkit';
import { GraphiQL } from 'graphiql';
import { OperationTypeNode, getOperationAST, parse, type DocumentNode } from 'graphql';
import { createClient, type Client, type ExecutionResult } from 'graphql-ws';
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import { EXAMPLES } from './graphiql-examples.js';

const httpUrl = new URL('/graphql', location.href).href;
const wsUrl = httpUrl.replace(/^http/, 'ws');

/** The web client's token when signed in in this browser tab, so the IDE starts authenticated. */
function tabToken(): string {
  try {
    const raw = sessionStorage.getItem('conversa.session');
    const s = raw ? (JSON.parse(raw) as { token?: unknown }) : null;
    return typeof s?.token === 'string' ? s.token : '';
  } catch {
    return '';
  }
}

function authorizationOf(headers: FetcherOpts['headers']): string | undefined {
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (
      k.toLowerCase() === 'authorization' &&
      typeof v === 'string' &&
      v.trim() !== '' &&
      v.trim() !== 'Bearer'
    )
      return v.trim();
  }
  return undefined;
}

function isSubscription(params: FetcherParams, opts: FetcherOpts | undefined): boolean {
  let doc: DocumentNode | undefined = opts?.documentAST;
  if (!doc) {
    try {
      doc = parse(params.query);
    } catch {
      return false;
    }
  }
  return (
    getOperationAST(doc, params.operationName ?? undefined)?.operation ===
    OperationTypeNode.SUBSCRIPTION
  );
}

/** One WebSocket per token: a changed Authorization header opens a new one. */
let socket: { auth: string | undefined; client: Client } | null = null;
function wsClient(auth: string | undefined): Client {
  if (socket && socket.auth === auth) return socket.client;
  void socket?.client.dispose();
  const client = createClient({
    url: wsUrl,
    lazy: true,
    retryAttempts: 3,
    connectionParams: auth ? { authorization: auth } : {},
  });
  socket = { auth, client };
  return client;
}

function closeReason(e: unknown): string {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 4403)
    return 'The server refused the token (WebSocket closed 4403): set "Authorization": "Bearer <token>" in the Headers tab.';
  if (typeof code === 'number')
    return `The WebSocket closed (${code}${(e as { reason?: string }).reason ? `: ${(e as { reason?: string }).reason}` : ''}).`;
  if (Array.isArray(e))
    return (e as { message?: string }[]).map((x) => x.message ?? 'error').join('; ');
  return e instanceof Error ? e.message : 'The subscription failed.';
}

async function* subscribe(client: Client, params: FetcherParams): AsyncGenerator<ExecutionResult> {
  try {
    for await (const r of client.iterate({
      query: params.query,
      ...(params.operationName ? { operationName: params.operationName } : {}),
      ...(params.variables && typeof params.variables === 'object'
        ? { variables: params.variables as Record<string, unknown> }
        : {}),
    })) {
      yield r as ExecutionResult;
    }
  } catch (e) {
    yield { errors: [{ message: closeReason(e) }] } as unknown as ExecutionResult;
  }
}

const http = createGraphiQLFetcher({ url: httpUrl });
const fetcher: Fetcher = (params, opts) =>
  isSubscription(params, opts)
    ? subscribe(wsClient(authorizationOf(opts?.headers)), params)
    : http(params, opts);

const headers = JSON.stringify({ Authorization: `Bearer ${tabToken()}` }, null, 2);
const fromUrl = new URLSearchParams(location.search);
const urlQuery = fromUrl.get('query');
const tabs = EXAMPLES.map((t) => ({ ...t, headers }));
if (urlQuery) tabs.unshift({ query: urlQuery, variables: fromUrl.get('variables') ?? '', headers });

const root = document.getElementById('graphiql');
if (root) {
  createRoot(root).render(
    createElement(GraphiQL, {
      fetcher,
      defaultTabs: tabs,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: 'headers',
      isHeadersEditorEnabled: true,
      // Per browser tab, like the web client's session: a token typed here is gone with the tab.
      storage: window.sessionStorage,
      shouldPersistHeaders: true,
      ...(urlQuery
        ? {
            initialQuery: urlQuery,
            initialVariables: fromUrl.get('variables') ?? '',
            initialHeaders: headers,
          }
        : {}),
    }),
  );
}
