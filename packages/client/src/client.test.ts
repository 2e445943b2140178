import { describe, expect, it } from 'vitest';
import { ConversaClient } from './client.js';
import { ConversaError, fromGraphQLErrors } from './errors.js';

interface Call {
  url: string;
  body: { query: string; variables: Record<string, unknown> };
  authorization: string | undefined;
}

/** A fetch that answers from a script of outcomes, one per call, and records the calls. */
function scriptedFetch(outcomes: (() => Response | Promise<Response>)[]) {
  const calls: Call[] = [];
  const impl = (async (url: string | URL | Request, init?: RequestInit) => {
    const headers = (init?.headers ?? {}) as Record<string, string>;
    calls.push({
      url: url instanceof Request ? url.url : url.toString(),
      body: JSON.parse(init?.body as string) as Call['body'],
      authorization: headers.authorization,
    });
    const next = outcomes.shift();
    if (!next) throw new Error('no more scripted outcomes');
    return next();
  }) as typeof fetch;
  return { impl, calls };
}

const json =
  (v: unknown, status = 200) =>
  () =>
    new Response(JSON.stringify(v), { status, headers: { 'content-type': 'application/json' } });
const networkDown = () => () => Promise.reject(new TypeError('fetch failed'));
const message = {
  id: 'm1',
  room: 'general',
  seq: 7,
  body: 'hi',
  status: 'VISIBLE',
  clientMsgId: 'x',
  createdAt: '2026-01-01T00:00:00Z',
  editedAt: null,
  author: { id: 'u', username: 'u', displayName: 'U' },
};

function client(
  outcomes: (() => Response | Promise<Response>)[],
  url: string | string[] = 'http://a/graphql',
) {
  const f = scriptedFetch(outcomes);
  const waits: number[] = [];
  const c = new ConversaClient({
    url,
    token: 't0k',
    fetch: f.impl,
    sleep: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
    newClientMsgId: () => 'generated-1',
  });
  return { c, calls: f.calls, waits };
}

describe('ConversaClient.send', () => {
  it('retries network errors, timeouts and INTERNAL_SERVER_ERROR with the same clientMsgId', async () => {
    const { c, calls, waits } = client([
      networkDown(),
      () => Promise.reject(Object.assign(new Error('timed out'), { name: 'TimeoutError' })),
      json({
        errors: [
          {
            message: 'the command did not finish in time; retrying it is safe',
            extensions: { code: 'INTERNAL_SERVER_ERROR' },
          },
        ],
      }),
      () => new Response('bad gateway', { status: 502 }),
      json({ data: { sendMessage: message } }),
    ]);
    await expect(c.send('general', 'hi')).resolves.toEqual(message);
    expect(calls).toHaveLength(5);
    expect(new Set(calls.map((x) => x.body.variables.clientMsgId))).toEqual(
      new Set(['generated-1']),
    );
    expect(calls.every((x) => x.authorization === 'Bearer t0k')).toBe(true);
    expect(waits).toHaveLength(4);
  });

  it('waits out RATE_LIMITED for its retryAfter and sends again with the same clientMsgId', async () => {
    const limited = (retryAfter: number) =>
      json({
        errors: [
          {
            message: `too many messages in this room; retry in ${retryAfter} s`,
            extensions: { code: 'RATE_LIMITED', retryAfter },
          },
        ],
      });
    const { c, calls, waits } = client([
      limited(1),
      limited(2),
      json({ data: { sendMessage: message } }),
    ]);
    await expect(c.send('general', 'hi')).resolves.toEqual(message);
    expect(calls.map((x) => x.body.variables.clientMsgId)).toEqual([
      'generated-1',
      'generated-1',
      'generated-1',
    ]);
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(1_000);
    expect(waits[1]).toBeGreaterThanOrEqual(2_000);
  });

  it('hands a slow mode of minutes back at once, with its retryAfter', async () => {
    const { c, calls, waits } = client([
      json({
        errors: [
          {
            message: 'slow mode: one message every 300 s in this room; retry in 290 s',
            extensions: { code: 'RATE_LIMITED', retryAfter: 290 },
          },
        ],
      }),
    ]);
    await expect(c.send('general', 'hi')).rejects.toMatchObject({
      code: 'RATE_LIMITED',
      retryAfter: 290,
    });
    expect(calls).toHaveLength(1);
    expect(waits).toEqual([]);
  });

  it('keeps a clientMsgId it was given', async () => {
    const { c, calls } = client([networkDown(), json({ data: { sendMessage: message } })]);
    await c.send('general', 'hi', { clientMsgId: 'mine' });
    expect(calls.map((x) => x.body.variables.clientMsgId)).toEqual(['mine', 'mine']);
  });

  it('does not retry a refusal and surfaces its code', async () => {
    const { c, calls } = client([
      json({ errors: [{ message: 'join the room first', extensions: { code: 'FORBIDDEN' } }] }),
    ]);
    const e = await c.send('general', 'hi').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ConversaError);
    expect((e as ConversaError).code).toBe('FORBIDDEN');
    expect((e as ConversaError).message).toBe('join the room first');
    expect(calls).toHaveLength(1);
  });

  it('gives up after the policy and reports the last failure by code', async () => {
    const { c, calls } = client(Array.from({ length: 8 }, () => networkDown()));
    await expect(c.send('general', 'hi')).rejects.toMatchObject({ code: 'NETWORK_ERROR' });
    expect(calls).toHaveLength(8);
  });

  it('moves to the next gateway when one cannot be reached', async () => {
    const { c, calls } = client(
      [networkDown(), json({ data: { sendMessage: message } })],
      ['http://a/graphql', 'http://b/graphql'],
    );
    await c.send('general', 'hi');
    expect(calls.map((x) => x.url)).toEqual(['http://a/graphql', 'http://b/graphql']);
  });

  it('login keeps the session token for later requests', async () => {
    const { c, calls } = client([
      json({
        data: {
          login: {
            token: 'new',
            expiresAt: 'x',
            user: { id: 'u', username: 'u', displayName: 'U', role: 'USER' },
          },
        },
      }),
      json({ data: { sendMessage: message } }),
    ]);
    await c.login('u', 'pw');
    await c.send('general', 'hi');
    expect(calls[1]?.authorization).toBe('Bearer new');
  });
});

describe('errors by code', () => {
  it('maps the first GraphQL error, keeping retryAfter; unknown codes count as internal', () => {
    expect(
      fromGraphQLErrors([
        { message: 'slow down', extensions: { code: 'RATE_LIMITED', retryAfter: 2 } },
      ]),
    ).toMatchObject({ code: 'RATE_LIMITED', retryAfter: 2, message: 'slow down' });
    expect(fromGraphQLErrors([{ message: 'x', extensions: { code: 'SOMETHING_NEW' } }]).code).toBe(
      'INTERNAL_SERVER_ERROR',
    );
  });
});
