import { describe, expect, it } from 'vitest';
import { CONTENT_SECURITY_POLICY, checkOrigin, clientAddress, corsHeaders } from './http-security.js';

const allowed = ['http://localhost:4000', 'https://chat.example'];

describe('checkOrigin', () => {
  it('lets requests without an Origin through (not a browser, or a same-origin navigation)', () => {
    expect(checkOrigin({ host: 'gw:4000' }, allowed)).toBe('absent');
  });
  it('allows listed origins and the gateway’s own host, whatever the case', () => {
    expect(checkOrigin({ origin: 'https://CHAT.example', host: 'gw' }, allowed)).toBe('allowed');
    expect(checkOrigin({ origin: 'http://localhost:4000', host: 'elsewhere' }, allowed)).toBe('allowed');
    expect(checkOrigin({ origin: 'http://10.0.0.5:4100', host: '10.0.0.5:4100' }, allowed)).toBe('allowed');
  });
  it('forbids foreign, opaque and malformed origins', () => {
    expect(checkOrigin({ origin: 'https://evil.example', host: 'gw:4000' }, allowed)).toBe('forbidden');
    expect(checkOrigin({ origin: 'http://localhost:4001', host: 'gw:4000' }, allowed)).toBe('forbidden');
    expect(checkOrigin({ origin: 'null', host: 'gw:4000' }, allowed)).toBe('forbidden');
    expect(checkOrigin({ origin: 'file:///etc/passwd', host: 'gw:4000' }, allowed)).toBe('forbidden');
    // The scheme is part of the origin: an http page may not pose as the https one.
    expect(checkOrigin({ origin: 'http://chat.example', host: 'gw' }, allowed)).toBe('forbidden');
  });
});

describe('corsHeaders', () => {
  it('echoes the allowed origin and varies on it; preflights name methods and headers', () => {
    expect(corsHeaders('https://chat.example', false)).toEqual({ 'access-control-allow-origin': 'https://chat.example', vary: 'Origin' });
    expect(corsHeaders('https://chat.example', true)['access-control-allow-headers']).toContain('authorization');
  });
});

describe('clientAddress', () => {
  it('uses the peer unless a proxy is trusted, then the last X-Forwarded-For entry', () => {
    const headers = { 'x-forwarded-for': '6.6.6.6, 10.0.0.7' };
    expect(clientAddress(headers, '127.0.0.1', false)).toBe('127.0.0.1');
    expect(clientAddress(headers, '127.0.0.1', true)).toBe('10.0.0.7');
    expect(clientAddress({}, '127.0.0.1', true)).toBe('127.0.0.1');
  });
});

describe('CONTENT_SECURITY_POLICY', () => {
  it('allows no inline script and no framing', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe-inline');
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
  });
});
