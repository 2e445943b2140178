import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.js';

describe('loadConfig', () => {
  it('gives every variable its default', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(4_000);
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(c.MONGO_DB).toBe('conversa');
    expect(Object.isFrozen(c)).toBe(true);
  });
  it('coerces and splits values', () => {
    const c = loadConfig({ PORT: '5000', KAFKA_BROKERS: 'a:1, b:2', CONVERSA_NAMESPACE: 'acme' });
    expect(c.PORT).toBe(5_000);
    expect(c.KAFKA_BROKERS).toEqual(['a:1', 'b:2']);
    expect(c.MONGO_DB).toBe('acme');
  });
  it('reports every bad variable at once, by name', () => {
    try {
      loadConfig({ PORT: 'abc', KAFKA_BROKERS: 'nohost', LOG_LEVEL: 'loud' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^PORT:/m);
      expect(problems).toMatch(/^KAFKA_BROKERS/m);
      expect(problems).toMatch(/^LOG_LEVEL:/m);
    }
  });
  it('refuses to run production with the default or a short JWT secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short-but-16-chars' })).toThrow(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).NODE_ENV).toBe('production');
  });
});
