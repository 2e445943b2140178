import { describe, expect, it } from 'vitest';
import { DependencyUnavailableError, reach } from './startup.js';

describe('reach', () => {
  const failing = (times: number) => {
    let calls = 0;
    return {
      connect: () => {
        calls++;
        return calls <= times ? Promise.reject(new Error(`refused #${calls}`)) : Promise.resolve('connected');
      },
      calls: () => calls,
    };
  };

  it('fails at once without retry, naming the dependency and the cause', async () => {
    const f = failing(1);
    const e = await reach('Kafka', '127.0.0.1:9092', 5_000, f.connect).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DependencyUnavailableError);
    expect(String(e)).toMatch(/cannot reach Kafka at 127\.0\.0\.1:9092: refused #1/);
    expect(f.calls()).toBe(1);
  });

  it('with retry, waits for a dependency that comes up within the timeout', async () => {
    const f = failing(2);
    await expect(reach('Kafka', 'k', 5_000, f.connect, { retry: true })).resolves.toBe('connected');
    expect(f.calls()).toBe(3);
  });

  it('with retry, gives up at the timeout with the last cause', async () => {
    const f = failing(1_000);
    const e = await reach('Kafka', 'k', 600, f.connect, { retry: true }).catch((x: unknown) => x);
    expect(String(e)).toMatch(/cannot reach Kafka at k: refused #\d+/);
    expect(f.calls()).toBeGreaterThanOrEqual(2);
  });

  it('a connect that hangs fails at the timeout', async () => {
    const e = await reach('Redis', 'r', 100, () => new Promise(() => undefined)).catch((x: unknown) => x);
    expect(String(e)).toMatch(/cannot reach Redis at r: no answer within 100 ms/);
  });
});
