import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { GatewayLiveness, type GatewayEntries, type LivenessStore } from './liveness.js';

const logger = pino({ level: 'silent' });

function setup() {
  const calls: string[] = [];
  let aliveAfterRefresh = true;
  let deadOnes: string[] = [];
  const store: LivenessStore = {
    gatewayId: 'me',
    announce: (ttl) => Promise.resolve(void calls.push(`announce ${ttl}`)),
    refresh: (ttl) => {
      calls.push(`refresh ${ttl}`);
      const was = aliveAfterRefresh;
      aliveAfterRefresh = true;
      return Promise.resolve(was);
    },
    dead: () => Promise.resolve(deadOnes),
    forget: (id) => Promise.resolve(void calls.push(`forget ${id}`)),
    retire: () => Promise.resolve(void calls.push('retire')),
  };
  let failRestore = false;
  const entries = (name: string): GatewayEntries => ({
    restore: () => {
      calls.push(`${name} restore`);
      return failRestore ? Promise.reject(new Error('redis down')) : Promise.resolve();
    },
    reapGateway: (id) => Promise.resolve(void calls.push(`${name} reap ${id}`)),
  });
  const errors: unknown[] = [];
  const liveness = new GatewayLiveness({ store, entries: [entries('presence'), entries('sockets')], ttlMs: 30_000, heartbeatMs: 10_000, logger, onError: (e) => errors.push(e) });
  return {
    liveness,
    calls,
    errors,
    lapse: () => (aliveAfterRefresh = false),
    dead: (ids: string[]) => (deadOnes = ids),
    failRestore: (v: boolean) => (failRestore = v),
  };
}

describe('GatewayLiveness', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('announces once, then refreshes one key per period however many sockets it holds, and retires on stop', async () => {
    const t = setup();
    await t.liveness.start();
    expect(t.calls).toEqual(['announce 30000']);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(t.calls).toEqual(['announce 30000', 'refresh 30000', 'refresh 30000', 'refresh 30000']);
    await t.liveness.stop();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(t.calls.slice(4)).toEqual(['retire']);
  });

  it('reaps each dead gateway in every kind of entries, then forgets it', async () => {
    const t = setup();
    await t.liveness.start();
    t.dead(['g1', 'g2']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.calls.slice(1)).toEqual(['refresh 30000', 'presence reap g1', 'sockets reap g1', 'forget g1', 'presence reap g2', 'sockets reap g2', 'forget g2']);
    await t.liveness.stop();
  });

  it('writes its entries again when its key had lapsed, and retries a restore that failed', async () => {
    const t = setup();
    await t.liveness.start();
    t.lapse();
    t.failRestore(true);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.calls.slice(1)).toEqual(['refresh 30000', 'presence restore']);
    expect(t.errors).toHaveLength(1);
    t.failRestore(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.calls.slice(3)).toEqual(['refresh 30000', 'presence restore', 'sockets restore']);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(t.calls.slice(6)).toEqual(['refresh 30000']);
    await t.liveness.stop();
  });
});
