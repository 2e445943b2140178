/**
 * Summarizes V8 heap snapshots (.heapsnapshot: `node --heapsnapshot-signal`, or
 * `v8.writeHeapSnapshot`): live bytes by kind of object. With two snapshots and a count, the
 * difference per unit ("what each socket holds"), so docs/performance.md can name it.
 * Usage: tsx src/heap-summary.ts <before> <after> [count]   or   tsx src/heap-summary.ts <file>
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  count: number;
  bytes: number;
}

/**
 * Self sizes summed by kind: objects by constructor name, closures by function name, strings,
 * arrays, compiled code and V8's internal structures each as one group.
 */
export function summarize(file: string): Map<string, HeapGroup> {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const stride = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < s.nodes.length; i += stride) {
    const type = types[s.nodes[i + iType]!] ?? 'unknown';
    const name = s.strings[s.nodes[i + iName]!] ?? '';
    let key: string;
    if (type === 'object' || type === 'native') key = name.length > 60 ? `${name.slice(0, 57)}…` : name;
    else if (type === 'closure') key = `closure ${name || '(anonymous)'}`;
    else if (type === 'hidden' || type === 'object shape') key = `(system) ${name.split(' ')[0] ?? ''}`.trim();
    else if (type === 'array' || type === 'synthetic') key = `(${type}) ${name}`.trim();
    else key = `(${type})`;
    const g = groups.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += s.nodes[i + iSize]!;
    groups.set(key, g);
  }
  return groups;
}

/** after − before, per unit, largest first. */
export function perUnit(before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, units: number): { key: string; count: number; bytes: number }[] {
  const keys = new Set([...before.keys(), ...after.keys()]);
  return [...keys]
    .map((key) => {
      const a = after.get(key) ?? { count: 0, bytes: 0 };
      const b = before.get(key) ?? { count: 0, bytes: 0 };
      return { key, count: (a.count - b.count) / units, bytes: (a.bytes - b.bytes) / units };
    })
    .sort((x, y) => y.bytes - x.bytes);
}

export const total = (g: Map<string, HeapGroup>): number => [...g.values()].reduce((a, x) => a + x.bytes, 0);

/** A markdown table of the largest groups per unit (top `limit`) and the total. */
export function perUnitTable(before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, units: number, limit = 20): string {
  const rows = perUnit(before, after, units);
  const lines = ['| what | objects per unit | bytes per unit |', '| --- | --- | --- |'];
  for (const r of rows.slice(0, limit)) lines.push(`| ${r.key.replace(/\|/g, '\\|')} | ${r.count.toFixed(1)} | ${Math.round(r.bytes)} |`);
  const rest = rows.slice(limit).reduce((a, r) => a + r.bytes, 0);
  lines.push(`| (everything else) | | ${Math.round(rest)} |`);
  lines.push(`| **total** | | **${Math.round((total(after) - total(before)) / units)}** |`);
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) {
  const [a, b, n] = process.argv.slice(2);
  if (!a) throw new Error('usage: heap-summary.ts <before> [<after> [count]]');
  if (!b) {
    const g = summarize(a);
    for (const [k, v] of [...g].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, 30)) console.log(`${String(v.bytes).padStart(12)}  ${String(v.count).padStart(9)}  ${k}`);
    console.log(`total ${total(g)} bytes`);
  } else {
    console.log(perUnitTable(summarize(a), summarize(b), Number(n ?? 1), 25));
  }
}
