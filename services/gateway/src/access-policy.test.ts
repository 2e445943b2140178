import { describe, expect, it } from 'vitest';
import type { MuteDoc } from '@conversa/store';
import { CachedAccessPolicy, storeAccessPolicy } from './access-policy.js';

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

describe('CachedAccessPolicy', () => {
  it('caches only "allowed", forgets it on an access signal for the user, and never keeps a read raced by one', async () => {
    const mutes: MuteDoc[] = [];
    let reads = 0;
    let hold: Promise<void> | undefined;
    const source = storeAccessPolicy(
      {
        mutesFor: async (user: string, room: string) => {
          reads++;
          const found = mutes.filter((m) => m.user === user && (m.room === room || m.room === null));
          await hold;
          return found;
        },
        findMute: (id: string) => {
          reads++;
          return Promise.resolve(mutes.find((m) => m._id === id) ?? null);
        },
      },
      () => now,
    );
    const cached = new CachedAccessPolicy(source, { ttlMs: 60_000 });
    expect(await cached.refusal('ann', 'r')).toBeNull();
    expect(await cached.refusal('ann', 'r')).toBeNull();
    expect(await cached.banned('ann')).toBe(false);
    expect(await cached.banned('ann')).toBe(false);
    expect(reads).toBe(2);

    // Muted: chat stores it, then signals; the signal evicts, the refusal is read (not cached).
    mutes.push(mute('ann', 'r', new Date(now.getTime() + 60_000)));
    cached.revoked('ann');
    expect(await cached.refusal('ann', 'r')).toBe('muted');
    expect(await cached.refusal('ann', 'r')).toBe('muted');
    expect(reads).toBe(4);

    // Lifted: seen at once (refusals are not cached).
    mutes.pop();
    expect(await cached.refusal('ann', 'r')).toBeNull();

    // A read in flight while a signal arrives is not kept.
    cached.clear();
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    const inFlight = cached.refusal('ann', 'r');
    cached.revoked('ann');
    release();
    hold = undefined;
    expect(await inFlight).toBeNull();
    const before = reads;
    await cached.refusal('ann', 'r');
    expect(reads).toBe(before + 1);
  });
});
