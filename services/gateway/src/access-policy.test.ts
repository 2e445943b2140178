import { describe, expect, it } from 'vitest';
import type { MuteDoc } from '@conversa/store';
import { storeAccessPolicy } from './access-policy.js';

const now = new Date('2026-01-01T12:00:00Z');
const mute = (user: string, room: string | null, until: Date | null): MuteDoc => ({
  _id: `${user}/${room ?? '*'}`,
  user,
  room,
  until,
  action: 'a',
  reason: 'r',
  at: now,
});

function policy(mutes: MuteDoc[]) {
  return storeAccessPolicy(
    {
      mutesFor: (user: string, room: string) => Promise.resolve(mutes.filter((m) => m.user === user && (m.room === room || m.room === null))),
      findMute: (id: string) => Promise.resolve(mutes.find((m) => m._id === id) ?? null),
    },
    () => now,
  );
}

describe('storeAccessPolicy', () => {
  const later = new Date(now.getTime() + 60_000);
  const earlier = new Date(now.getTime() - 1);
  it('refuses a room while a mute there or everywhere is in force', async () => {
    const p = policy([mute('ann', 'lobby', later), mute('ben', null, later), mute('cat', 'lobby', earlier)]);
    expect(await p.refusal('ann', 'lobby')).toBe('muted');
    expect(await p.refusal('ann', 'kitchen')).toBeNull();
    expect(await p.refusal('ben', 'kitchen')).toBe('muted');
    expect(await p.refusal('cat', 'lobby')).toBeNull();
  });
  it('treats a mute everywhere without an end as a ban', async () => {
    const p = policy([mute('dan', null, null), mute('eve', 'lobby', null)]);
    expect(await p.banned('dan')).toBe(true);
    expect(await p.refusal('dan', 'lobby')).toBe('banned');
    expect(await p.banned('eve')).toBe(false);
    expect(await p.refusal('eve', 'lobby')).toBe('muted');
  });
});
