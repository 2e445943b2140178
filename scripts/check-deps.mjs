#!/usr/bin/env node
// Offline floor check of the dependency tree: every installed copy of a package with a known
// high/critical advisory must be at or past its fix. Reads package-lock.json only, so it also
// runs where the registry's audit endpoint cannot be reached (npm audit needs it).
import { readFileSync } from 'node:fs';

/** package → [fixed version per major, advisory]. A major not listed is refused. */
const FLOORS = {
  ws: { 8: '8.17.1', 7: '7.5.10', 6: '6.2.3', 5: '5.2.4', advisory: 'CVE-2024-37890 (DoS by many headers)' },
  mongoose: { 8: '8.9.5', advisory: 'CVE-2024-53900, CVE-2025-23061 (search injection via $where / populate match)' },
  graphql: { 16: '16.8.1', advisory: 'CVE-2023-26144 (DoS in OverlappingFieldsCanBeMerged)' },
};

const lock = JSON.parse(readFileSync(new URL('../package-lock.json', import.meta.url), 'utf8'));
const cmp = (a, b) => {
  const [x, y] = [a, b].map((v) => v.split('-')[0].split('.').map(Number));
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};
const problems = [];
let checked = 0;
for (const [path, meta] of Object.entries(lock.packages ?? {})) {
  const name = path.split('node_modules/').at(-1);
  const floor = FLOORS[name];
  if (!floor || !meta.version) continue;
  checked++;
  const fixed = floor[Number(meta.version.split('.')[0])];
  if (!fixed) problems.push(`${path} ${meta.version}: no fixed release known for this major (${floor.advisory})`);
  else if (cmp(meta.version, fixed) < 0) problems.push(`${path} ${meta.version} < ${fixed}: ${floor.advisory}`);
}
if (problems.length > 0) {
  console.error(`known-vulnerable dependencies:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`dependency floors: ${checked} installed copies of ${Object.keys(FLOORS).join(', ')} are past their advisories`);
