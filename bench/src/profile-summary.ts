/**
 * Summarizes V8 .cpuprofile files (node --cpu-prof): self time by function, top N, so
 * docs/performance.md can say where the time goes. Usage: tsx src/profile-summary.ts <files…>
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

for (const file of process.argv.slice(2)) {
  const p = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  p.samples.forEach((id, i) => {
    const dt = p.timeDeltas[i] ?? 0;
    total += dt;
    const n = byId.get(id);
    if (!n) return;
    const url = n.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(services|packages)\//, '$1/');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + dt);
  });
  const byPackage = new Map<string, number>();
  for (const [k, v] of self) {
    const m = /\s(\(?[^\s]*?)(?:\/|:)/.exec(k);
    const pkg = k.includes('node_modules') ? k.split('  ')[1]!.split('/')[0]! : (m?.[1] ?? 'other');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + v);
  }
  console.log(`\n${file}: ${(total / 1000).toFixed(0)} ms sampled`);
  console.log('top functions by self time:');
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
  console.log('by origin:');
  for (const [k, v] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`${((100 * v) / total).toFixed(1).padStart(6)} %  ${k}`);
}
