import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { register, startSystem, wsClient, type Session, type System } from './harness.js';

/** WS_MAX_SOCKETS_PER_USER counts a user's sockets on every gateway (issue 14), not per process. */
describe('sockets per user across two gateways', () => {
  let sys: System;
  let ann: Session;
  const clients: Client[] = [];

  beforeAll(async () => {
    sys = await startSystem({ gateways: 2, audits: 0, env: { WS_MAX_SOCKETS_PER_USER: '2' } });
    ann = await register(sys.gateways[0]!.http, `ann_${randomUUID().slice(0, 6)}`, 'Ann');
  });
  afterAll(async () => {
    await Promise.all(clients.map(async (c) => { await c.dispose(); }));
    await sys?.stop();
  });

  /** Opens a socket on gateway `g`: 'connected', or the code it was closed with. */
  const connect = (g: number) =>
    new Promise<{ outcome: string; client: Client }>((resolve) => {
      let client: Client | undefined = undefined;
      const c = wsClient(sys.gateways[g]!.ws, ann.token, (code) => resolve({ outcome: `close ${code}`, client: client! }));
      client = c;
      clients.push(c);
      c.on('connected', () => resolve({ outcome: 'connected', client: c }));
    });

  it('refuses the third socket of a user on the other gateway with 4429, and frees the slot on close', async () => {
    const first = await connect(0);
    expect(first.outcome).toBe('connected');
    expect((await connect(1)).outcome).toBe('connected');
    expect((await connect(1)).outcome).toBe('close 4429');
    expect((await connect(0)).outcome).toBe('close 4429');
    await first.client.dispose();
    // The slot is released when gateway 0 sees the close: a new socket then gets in.
    let outcome = '';
    for (let attempt = 0; attempt < 50 && outcome !== 'connected'; attempt++) outcome = (await connect(1)).outcome;
    expect(outcome).toBe('connected');
  });
});
