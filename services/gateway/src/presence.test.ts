import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { RoomSignal, UserView } from '@conversa/contracts';
import { GLOBAL_SCOPE, type PresenceStore } from './adapters/presence.js';
import { Presence } from './presence.js';

const logger = pino({ level: 'silent' });
const ann = { id: 'u1', username: 'ann', displayName: 'Ann' } as UserView;

/** A store that records calls and holds users per scope, as one gateway's entries. */
function setup(gone: { scope: string; user: string }[] = []) {
  const calls: string[] = [];
  const held = new Map<string, Set<string>>();
  const store: PresenceStore = {
    enter: (scope, user) => {
      calls.push(`enter ${scope} ${user}`);
      const set = held.get(scope) ?? new Set<string>();
      held.set(scope, set);
      const first = !set.has(user);
      set.add(user);
      return Promise.resolve(first);
    },
    leave: (scope, user) => {
      calls.push(`leave ${scope} ${user}`);
      return Promise.resolve(held.get(scope)?.delete(user) ?? false);
    },
    restore: (scope, users) => Promise.resolve(void calls.push(`restore ${scope} ${users.join(',')}`)),
    reapGateway: (id) => Promise.resolve(id === 'dead' ? gone : []),
    online: (scope) => Promise.resolve([...(held.get(scope) ?? [])]),
    onlineAmong: (scope, users) => Promise.resolve(new Set(users.filter((u) => held.get(scope)?.has(u)))),
  };
  const signals: { room: string; signal: RoomSignal }[] = [];
  const presence = new Presence({
    store,
    publish: (room, signal) => Promise.resolve(void signals.push({ room, signal })),
    users: (ids) => Promise.resolve(ids.includes(ann.id) ? [ann] : []),
    logger,
  });
  const online = () => signals.map((s) => (s.signal.kind === 'presence' ? `${s.room} ${s.signal.online ? 'on' : 'off'}` : s.signal.kind));
  return { presence, calls, online };
}

describe('Presence (one gateway)', () => {
  it('writes one entry per user and scope however many of their connections are here, and leaves with the last', async () => {
    const t = setup();
    const tab1 = await t.presence.connect(ann);
    const tab2 = await t.presence.connect(ann);
    await tab1.enterRoom('r');
    await tab1.enterRoom('r'); // a second subscription of the same tab
    await tab2.enterRoom('r');
    expect(t.calls).toEqual([`enter ${GLOBAL_SCOPE} u1`, 'enter r u1']);
    expect(t.online()).toEqual(['r on']);
    await tab1.close();
    expect(t.calls).toHaveLength(2);
    await tab2.leaveRoom('r');
    expect(t.calls.slice(2)).toEqual(['leave r u1']);
    expect(t.online()).toEqual(['r on', 'r off']);
    await tab2.close();
    expect(t.calls.slice(3)).toEqual([`leave ${GLOBAL_SCOPE} u1`]);
  });

  it('restores what it holds, and reports the rooms of a reaped gateway (not the global scope)', async () => {
    const t = setup([
      { scope: GLOBAL_SCOPE, user: 'u1' },
      { scope: 'r2', user: 'u1' },
    ]);
    const tab = await t.presence.connect(ann);
    await tab.enterRoom('r');
    await t.presence.restore();
    expect(t.calls.slice(2)).toEqual([`restore ${GLOBAL_SCOPE} u1`, 'restore r u1']);
    await t.presence.reapGateway('dead');
    expect(t.online()).toEqual(['r on', 'r2 off']);
    await t.presence.stop();
    expect(t.calls.slice(4).sort()).toEqual([`leave ${GLOBAL_SCOPE} u1`, 'leave r u1']);
    expect(t.online()).toEqual(['r on', 'r2 off', 'r off']);
  });
});
