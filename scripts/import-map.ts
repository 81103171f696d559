/**
 * `npx tsx scripts/import-map.ts [folder…]`: the map of src/ that
 * docs/architecture.md quotes: files and lines per folder, imports between the
 * files of the given folders (default: two-factor), and the deepest import chain
 * among them, and the fewest imports from app.ts to each factor module (the
 * ones the factor table imports). Exits non-zero when src/ has an import cycle.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deepestChain, importCycles, importGraph, shortestPath } from '../test/helpers/import-graph.js';

const SRC = 'src';
const folders = process.argv.slice(2).length ? process.argv.slice(2) : ['two-factor'];
const graph = importGraph(SRC);
const folderOf = (f: string) => (f.includes('/') ? f.slice(0, f.indexOf('/')) : '.');
const inScope = (f: string) => folders.some((d) => f.startsWith(`${d}/`));

const perFolder = new Map<string, { files: number; lines: number }>();
for (const f of graph.files) {
  const row = perFolder.get(folderOf(f)) ?? { files: 0, lines: 0 };
  row.files++;
  row.lines += readFileSync(join(SRC, f), 'utf8').split('\n').length - 1;
  perFolder.set(folderOf(f), row);
}
console.log('folder                 files  lines');
for (const [folder, row] of [...perFolder].sort())
  console.log(`${folder.padEnd(22)} ${String(row.files).padStart(5)} ${String(row.lines).padStart(6)}`);
const all = [...graph.edges.values()].reduce((n, e) => n + e.length, 0);
console.log(`src: ${perFolder.size} folders, ${graph.files.length} files, ${all} imports between files`);

const scoped = graph.files.filter(inScope);
const inner = scoped.reduce((n, f) => n + graph.edges.get(f)!.filter(inScope).length, 0);
const subfolders = new Set(scoped.map((f) => f.slice(0, f.lastIndexOf('/'))));
console.log(
  `${folders.join(' + ')}: ${subfolders.size} folder(s), ${scoped.length} files, ${inner} imports between them`,
);
const cycles = importCycles(graph);
const scopedCycle = cycles.some((c) => c.some(inScope));
if (!scopedCycle) {
  const chain = deepestChain(graph, inScope);
  console.log(`deepest chain (${chain.length} files): ${chain.join(' → ')}`);
}
if (cycles.length === 0) {
  const whole = deepestChain(graph, () => true);
  console.log(`deepest chain in src (${whole.length} files): ${whole.join(' → ')}`);
}
console.log(`import cycles: ${cycles.length}`);
for (const c of cycles) console.log(`  ${c.join(' ↔ ')}`);
process.exitCode = cycles.length ? 1 : 0;

// The review's unit count: each subfolder of a scoped folder (two-factor/factors/, two-factor/budget/) as one unit.
const unitOf = (f: string) => {
  const parts = f.split('/');
  return parts.length > 2 ? parts.slice(0, 2).join('/') + '/' : f;
};
const units = new Set(scoped.map(unitOf));
const unitEdges = new Set<string>();
for (const f of scoped)
  for (const t of graph.edges.get(f)!)
    if (inScope(t) && unitOf(t) !== unitOf(f)) unitEdges.add(`${unitOf(f)} -> ${unitOf(t)}`);
console.log(`as units (a subfolder is one unit): ${units.size} units, ${unitEdges.size} imports between them`);

const TABLE = 'two-factor/factors/index.ts';
for (const factor of (graph.edges.get(TABLE) ?? []).filter((f) => f !== 'two-factor/factors/factor.ts')) {
  const path = shortestPath(graph, 'app.ts', factor);
  console.log(`app.ts to ${factor}: ${path ? `${path.length - 1} imports (${path.join(' → ')})` : 'not reached'}`);
}
