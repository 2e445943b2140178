import { execSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as hdr from 'hdr-histogram-js';

export const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** Seconds-long runs that only check the harness works (CI). */
export const SMOKE = process.env.BENCH_SMOKE === '1';

export function num(name: string, full: number, smoke: number): number {
  const v = process.env[name];
  return v ? Number(v) : SMOKE ? smoke : full;
}

export function histogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
}

export interface Row {
  [k: string]: string | number;
}

/** Prints a table and writes artifacts/bench/<name>.json with the machine, versions and commit. */
export function report(name: string, rows: Row[], extra: Record<string, unknown> = {}): void {
  const head = Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => head.map((h) => String(r[h])));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padStart(width[i]!)).join('  ');
  console.log(`\n${name}${SMOKE ? ' (smoke)' : ''}\n${line(head)}\n${cells.map(line).join('\n')}\n`);
  let commit = 'unknown';
  try {
    commit = execSync('git rev-parse --short HEAD', { cwd: REPO }).toString().trim();
  } catch {
    /* not a checkout */
  }
  const pkg = (p: string) => (JSON.parse(readFileSync(`${REPO}node_modules/${p}/package.json`, 'utf8')) as { version: string }).version;
  mkdirSync(`${REPO}artifacts/bench`, { recursive: true });
  writeFileSync(
    `${REPO}artifacts/bench/${name}.json`,
    JSON.stringify(
      {
        scenario: name,
        smoke: SMOKE,
        at: new Date().toISOString(),
        commit,
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
        versions: { 'graphql-ws': pkg('graphql-ws'), ws: pkg('ws'), '@apollo/server': pkg('@apollo/server'), graphql: pkg('graphql') },
        rows,
        ...extra,
      },
      null,
      2,
    ),
  );
}
