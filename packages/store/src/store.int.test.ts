/**
 * The composed store against a real MongoDB-wire server: every write that stores a domain
 * event tells the one registered listener (the outbox relay's fast path), after the write and
 * only when something was stored. The repositories have their own files beside this one.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { newEvent } from '@conversa/contracts';
import type { PendingOutbox } from './connection.js';
import { messageId } from './messages.js';
import type { Store } from './store.js';
import { draft, dropStore, isolatedStore } from './int-fixtures.js';

let store: Store;
let heard: PendingOutbox[];
let stopListening: () => void;

beforeEach(async () => {
  store = await isolatedStore();
  heard = [];
  stopListening = store.onEventsStored((p) => heard.push(p));
});

afterEach(() => dropStore(store));

const took = () =>
  heard
    .splice(0)
    .map(
      (p) =>
        `${p.collection}/${p.docId}:${p.events.map((e) => e.type).join(',')}${p.marked ? ' (marked)' : ''}`,
    );

describe('stored events reach the registered listener', () => {
  it('from users, rooms and memberships, once per stored change', async () => {
    const registered = newEvent('user.registered', 'ann', 'ann', {
      user: { id: 'ann', username: 'ann', displayName: 'Ann', role: 'USER' },
    });
    await store.users.create({
      _id: 'ann',
      username: 'ann',
      displayName: 'Ann',
      role: 'USER',
      passwordHash: 'h',
      createdAt: new Date(),
      outbox: [registered],
    });
    await store.users
      .create({
        _id: 'ann2',
        username: 'ann',
        displayName: 'Ann',
        role: 'USER',
        passwordHash: 'h',
        createdAt: new Date(),
        outbox: [registered],
      })
      .catch(() => undefined);
    await store.users.rename(
      'ann',
      'Annie',
      newEvent('user.renamed', 'ann', 'ann', {
        user: { id: 'ann', username: 'ann', displayName: 'Annie', role: 'USER' },
        previousDisplayName: 'Ann',
      }),
    );
    expect(took()).toEqual(['users/ann:user.registered', 'users/ann:user.renamed']);

    const created = newEvent('room.created', 'lobby', 'ann', {
      room: 'lobby',
      name: 'lobby',
      kind: 'PUBLIC',
      members: [],
    });
    const room = {
      _id: 'lobby',
      name: 'lobby',
      kind: 'PUBLIC' as const,
      pair: [],
      createdAt: new Date(),
      outbox: [created],
    };
    await store.rooms.ensure(room);
    await store.rooms.ensure(room); // exists: nothing stored
    await store.rooms.setSlowMode(
      'lobby',
      10,
      newEvent('room.slowModeSet', 'lobby', 'ann', {
        room: 'lobby',
        seconds: 10,
        previousSeconds: 0,
      }),
    );
    const joined = newEvent('room.joined', 'lobby', 'ann', { room: 'lobby', user: 'ann' });
    await store.rooms.setMembership('lobby', 'ann', true, joined);
    await store.rooms.setMembership(
      'lobby',
      'ann',
      true,
      newEvent('room.joined', 'lobby', 'ann', { room: 'lobby', user: 'ann' }),
    ); // no change
    expect(took()).toEqual([
      'rooms/lobby:room.created',
      'rooms/lobby:room.slowModeSet',
      'memberships/lobby/ann:room.joined',
    ]);
  });

  it('from messages: posted events as marked, edits from their outbox, none for a refused write', async () => {
    await store.messages.insert(draft('r1', 1, 'ann', 'c1'));
    await store.messages.insert(draft('r1', 1, 'bob', 'c2')).catch(() => undefined); // seq taken
    await store.messages.insertBatch([draft('r1', 2, 'ann', 'c3'), draft('r1', 3, 'ann', 'c4')]);
    expect(took()).toEqual([
      'messages/r1:1:message.posted (marked)',
      'messages/r1:2:message.posted (marked)',
      'messages/r1:3:message.posted (marked)',
    ]);

    // A batch refused at its second message: the first was stored, and only it is told.
    await store.messages
      .insertBatch([draft('r1', 4, 'ann', 'c5'), draft('r1', 5, 'ann', 'c1')])
      .catch(() => undefined);
    expect(took()).toEqual(['messages/r1:4:message.posted (marked)']);

    const posted = draft('r1', 1, 'ann', 'c1').posted;
    const message = posted.type === 'message.posted' ? posted.data.message : undefined;
    const edited = newEvent('message.edited', 'r1', 'ann', {
      message: { ...message!, body: 'edited' },
      previousBody: 'hi',
    });
    await store.messages.update(
      messageId('r1', 1),
      ['VISIBLE'],
      { body: 'edited', editedAt: new Date() },
      edited,
    );
    await store.messages.update(messageId('r1', 1), ['HIDDEN'], { status: 'VISIBLE' }, edited); // not hidden: no change
    expect(took()).toEqual(['messages/r1:1:message.edited']);
  });

  it('from moderation actions', async () => {
    const action = {
      id: 'a1',
      kind: 'flag' as const,
      target: 'r1:1',
      room: 'r1',
      reason: 'r',
      rule: null,
      by: null,
      at: new Date().toISOString(),
      until: null,
    };
    const recorded = newEvent('moderation.action', 'r1', null, { action });
    const doc = {
      _id: 'a1',
      kind: 'flag' as const,
      target: 'r1:1',
      room: 'r1',
      reason: 'r',
      rule: null,
      by: null,
      at: new Date(),
      until: null,
      outbox: [recorded],
    };
    await store.moderation.insertAction(doc);
    await store.moderation.insertAction(doc).catch(() => undefined); // recorded already
    expect(took()).toEqual(['moderation_actions/a1:moderation.action']);
  });

  it('has one listener at a time', () => {
    expect(() => store.onEventsStored(() => undefined)).toThrow(/registered already/);
    stopListening();
    const stop = store.onEventsStored(() => undefined);
    stop();
  });
});
