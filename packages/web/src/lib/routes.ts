/** The client's pages. The gateway answers each of these paths with index.html. */
export type Route =
  | { name: 'lobby' }
  | { name: 'signin' }
  | { name: 'search' }
  | { name: 'room'; id: string }
  | { name: 'dm'; id: string }
  | { name: 'notFound'; path: string };

function decode(s: string): string | undefined {
  try {
    const v = decodeURIComponent(s);
    return v.length > 0 && v.length <= 128 ? v : undefined;
  } catch {
    return undefined;
  }
}

export function parseRoute(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  if (path === '/') return { name: 'lobby' };
  if (path === '/signin') return { name: 'signin' };
  if (path === '/search') return { name: 'search' };
  const m = /^\/(room|dm)\/([^/]+)$/.exec(path);
  if (m) {
    const id = decode(m[2] ?? '');
    if (id !== undefined) return m[1] === 'dm' ? { name: 'dm', id } : { name: 'room', id };
  }
  return { name: 'notFound', path: pathname };
}

export const paths = {
  lobby: (): string => '/',
  signin: (next?: string): string =>
    next && next !== '/' ? `/signin?next=${encodeURIComponent(next)}` : '/signin',
  /** A public room or a group at /room/<id>, a direct room at /dm/<id>. */
  room: (id: string, kind: 'PUBLIC' | 'DIRECT' | 'GROUP' = 'PUBLIC'): string =>
    `/${kind === 'DIRECT' ? 'dm' : 'room'}/${encodeURIComponent(id)}`,
  /** Search results for `query`, in every room of the person's or in `room` only. */
  search: (query: string, room?: string): string =>
    `/search?q=${encodeURIComponent(query)}${room ? `&room=${encodeURIComponent(room)}` : ''}`,
};

/** Where to go after sign-in: only a path on this site (never `//evil.example` or a full URL). */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  const route = parseRoute(next.split(/[?#]/)[0] ?? '/');
  return route.name === 'notFound' || route.name === 'signin' ? '/' : next;
}
