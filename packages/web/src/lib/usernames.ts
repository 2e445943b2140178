import type { Person } from './messages.js';

/** The usernames typed into a "people" field: separated by commas or spaces, `@` optional, each once. */
export function parseUsernames(text: string): string[] {
  const out = new Set<string>();
  for (const part of text.split(/[\s,;]+/)) {
    const name = part.replace(/^@+/, '').toLowerCase();
    if (name) out.add(name);
  }
  return [...out];
}

/** The people those usernames name (usernames are case-insensitive), and the names nobody has. */
export function resolveUsernames(
  names: readonly string[],
  people: readonly Person[],
): { found: Person[]; unknown: string[] } {
  const byName = new Map(people.map((p) => [p.username.toLowerCase(), p]));
  const found: Person[] = [];
  const unknown: string[] = [];
  for (const n of names) {
    const p = byName.get(n);
    if (p) found.push(p);
    else unknown.push(n);
  }
  return { found, unknown };
}
