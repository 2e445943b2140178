import { describe, expect, it } from 'vitest';
import { parseRoute, paths, safeNext } from './routes.js';
import { ApiError, describeError, toApiError } from './errors.js';

describe('parseRoute', () => {
  it('knows the pages', () => {
    expect(parseRoute('/')).toEqual({ name: 'lobby' });
    expect(parseRoute('/signin')).toEqual({ name: 'signin' });
    expect(parseRoute('/search')).toEqual({ name: 'search' });
    expect(parseRoute('/room/general')).toEqual({ name: 'room', id: 'general' });
    expect(parseRoute('/room/general/')).toEqual({ name: 'room', id: 'general' });
    expect(parseRoute('/dm/3f2a-9c')).toEqual({ name: 'dm', id: '3f2a-9c' });
    expect(parseRoute('/dm/a%20b')).toEqual({ name: 'dm', id: 'a b' });
  });
  it('refuses what it does not know', () => {
    expect(parseRoute('/nope').name).toBe('notFound');
    expect(parseRoute('/room/').name).toBe('notFound');
    expect(parseRoute('/room/a/b').name).toBe('notFound');
    expect(parseRoute('/dm/%E0%A4%A').name).toBe('notFound');
  });
  it('builds paths that parse back', () => {
    expect(parseRoute(paths.room('a/b'))).toEqual({ name: 'room', id: 'a/b' });
    expect(paths.room('x', 'DIRECT')).toBe('/dm/x');
    expect(paths.room('grp-1', 'GROUP')).toBe('/room/grp-1');
    expect(paths.search('a&b c')).toBe('/search?q=a%26b%20c');
    expect(paths.search('x', 'grp-1')).toBe('/search?q=x&room=grp-1');
    expect(paths.signin('/dm/x')).toBe('/signin?next=%2Fdm%2Fx');
    expect(paths.signin('/')).toBe('/signin');
  });
});

describe('safeNext', () => {
  it('only follows paths of this site', () => {
    expect(safeNext('/dm/abc')).toBe('/dm/abc');
    expect(safeNext('/room/general')).toBe('/room/general');
    expect(safeNext('/search?q=x')).toBe('/search?q=x');
    expect(safeNext(null)).toBe('/');
    expect(safeNext('https://evil.example/')).toBe('/');
    expect(safeNext('//evil.example/x')).toBe('/');
    expect(safeNext('/\\evil.example')).toBe('/');
    expect(safeNext('/signin')).toBe('/');
    expect(safeNext('/what')).toBe('/');
  });
});

describe('errors', () => {
  it('keeps the API code and message', () => {
    const e = toApiError([{ message: 'room: no room "x"', extensions: { code: 'NOT_FOUND' } }]);
    expect(e).toBeInstanceOf(ApiError);
    expect([e.code, e.message]).toEqual(['NOT_FOUND', 'room: no room "x"']);
    expect(toApiError([{ message: 'x', extensions: { code: 'WEIRD' } }]).code).toBe(
      'INTERNAL_SERVER_ERROR',
    );
    expect(toApiError([]).message).toBe('something went wrong');
  });
  it('explains errors to people', () => {
    expect(describeError(new ApiError('x', 'NETWORK'))).toMatch(/connection/);
    expect(describeError(new ApiError('invalid username or password', 'UNAUTHENTICATED'))).toBe(
      'Invalid username or password',
    );
    expect(describeError(new ApiError('boom', 'INTERNAL_SERVER_ERROR'))).not.toContain('boom');
    expect(describeError(new Error('x'))).toMatch(/went wrong/);
  });
});
