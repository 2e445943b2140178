import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './index.js';

describe('loadConfig', () => {
  it('gives every variable its default', () => {
    const c = loadConfig({});
    expect(c.PORT).toBe(4_000);
    expect(c.KAFKA_BROKERS).toEqual(['127.0.0.1:9092']);
    expect(c.MONGO_DB).toBe('conversa');
    expect(c.STORE_DOCUMENT_LOCKS).toBe('auto');
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
      loadConfig({ PORT: 'abc', KAFKA_BROKERS: 'nohost', LOG_LEVEL: 'loud', STORE_DOCUMENT_LOCKS: 'maybe' });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const problems = (e as ConfigError).problems.join('\n');
      expect(problems).toMatch(/^PORT:/m);
      expect(problems).toMatch(/^KAFKA_BROKERS/m);
      expect(problems).toMatch(/^LOG_LEVEL:/m);
      expect(problems).toMatch(/^STORE_DOCUMENT_LOCKS:/m);
    }
  });
  it('refuses to run production with the default or a short JWT secret', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/JWT_SECRET/);
    expect(() => loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'short-but-16-chars' })).toThrow(/JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) }).NODE_ENV).toBe('production');
  });
  it('parses the hardening settings: origins, rate limits as N/<duration>, flags', () => {
    const d = loadConfig({});
    expect(d.CORS_ORIGINS).toEqual(['http://localhost:4000', 'http://127.0.0.1:4000']);
    expect(d.RATE_LIMIT_SEND).toEqual({ limit: 600, windowMs: 60_000 });
    expect(d.TRUST_PROXY).toBe(false);
    expect(d.GATEWAY_OPTIMIZE_FOR_SIZE).toBe(false);
    expect(loadConfig({ GATEWAY_OPTIMIZE_FOR_SIZE: 'true' }).GATEWAY_OPTIMIZE_FOR_SIZE).toBe(true);
    const c = loadConfig({ CORS_ORIGINS: 'https://Chat.example/, http://a:8080', RATE_LIMIT_SEND: '5/10s', RATE_LIMIT_JOIN: '2/500ms', TRUST_PROXY: 'true' });
    expect(c.CORS_ORIGINS).toEqual(['https://chat.example', 'http://a:8080']);
    expect(c.RATE_LIMIT_SEND).toEqual({ limit: 5, windowMs: 10_000 });
    expect(c.RATE_LIMIT_JOIN).toEqual({ limit: 2, windowMs: 500 });
    expect(c.TRUST_PROXY).toBe(true);
    expect(() => loadConfig({ RATE_LIMIT_SEND: '5 per minute', CORS_ORIGINS: 'chat.example' })).toThrow(/RATE_LIMIT_SEND.*CORS_ORIGINS|CORS_ORIGINS.*RATE_LIMIT_SEND/);
  });
});
