import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INFRA_ENV, LOAD_ENV, gqlOk, register, startSystem, wsClient, type Session, type System } from './harness.js';
import { sendUntilAcked, type Ack } from './faults/load.js';

describe('graceful shutdown (SIGTERM)', () => {
  let sys: System;
  let ann: Session;
  const room = `calm-${randomUUID().slice(0, 6)}`;

  beforeAll(async () => {
    // One person sends 40 messages at once: the flood rule would mute a real one.
    sys = await startSystem({ gateways: 2, chats: 2, env: LOAD_ENV });
    ann = await register(sys.gateways[0]!.http, `ann_${sys.namespace.slice(4)}`, 'Ann');
    await gqlOk(sys.gateways[0]!.http, 'mutation($n: String!) { joinRoom(name: $n) { id } }', { n: room }, ann.token);
  });
  afterAll(() => sys?.stop());

  it('finishes in-flight commands, closes sockets with 1001, exits 0 and loses nothing', async () => {
    const gw1 = sys.gateways[0]!.http.replace(/\/graphql$/, '');
    const deadline = Date.now() + 60_000;
    const sends = Array.from({ length: 40 }, (_, i) => sendUntilAcked({ list: () => [gw1] }, ann.token, room, `m${i}`, deadline));
    const chat = sys.procs.find((p) => p.name === 'chat')!;
    chat.child.kill('SIGTERM'); // while the sends are being worked on
    const acks = (await Promise.all(sends)).filter((a): a is Ack => a !== undefined);
    expect(await chat.exited, chat.output.join('')).toBe(0);
    expect(acks).toHaveLength(40);

    let onClose!: (code: number) => void;
    const closed = new Promise<number>((resolve) => (onClose = resolve));
    const client = wsClient(sys.gateways[1]!.ws, ann.token, (code) => onClose(code));
    // Stop the gateway only once the socket is accepted (connection_ack received).
    await new Promise<void>((resolve) => client.on('connected', () => resolve()));
    client.subscribe(
      { query: 'subscription($r: ID!) { messageAdded(room: $r) { seq } }', variables: { r: room } },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    const gw2 = sys.gateways[1]!.proc;
    gw2.child.kill('SIGTERM');
    expect(await closed).toBe(1001);
    expect(await gw2.exited, gw2.output.join('')).toBe(0);

    const audit = sys.procs.find((p) => p.name === 'audit')!;
    audit.child.kill('SIGTERM');
    expect(await audit.exited, audit.output.join('')).toBe(0);

    const mongo = await MongoClient.connect(INFRA_ENV.MONGO_URL);
    try {
      const stored = await mongo.db(sys.namespace).collection('messages').find({ room }).toArray();
      expect(stored.map((m) => m.seq as number).sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(new Set(stored.map((m) => String(m._id)))).toEqual(new Set(acks.map((a) => a.id)));
    } finally {
      await mongo.close();
    }
  });
});
