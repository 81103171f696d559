import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The import graph of a source folder, read from its `import … from '…'` and
 * `export … from '…'` lines (relative specifiers only; packages are leaves).
 * Keys and targets are paths relative to the folder, e.g. "two-factor/flow.ts".
 */
export interface ImportGraph {
  files: string[];
  /** file → the files it imports (relative ones) */
  edges: Map<string, string[]>;
  /** file → the package specifiers it imports ('fastify', 'node:crypto', …) */
  packages: Map<string, string[]>;
}

const SPECIFIER = /^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]/gm;

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return listTs(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [path] : [];
  });
}

export function importGraph(root: string): ImportGraph {
  const abs = resolve(root);
  const files = listTs(abs)
    .map((f) => relative(abs, f))
    .sort();
  const edges = new Map<string, string[]>();
  const packages = new Map<string, string[]>();
  for (const file of files) {
    // Statements may span lines ("import {\n a,\n} from 'x'"): fold them first.
    const text = readFileSync(join(abs, file), 'utf8').replace(/\{[^}]*\}/g, (m) => m.replace(/\s+/g, ' '));
    const local: string[] = [];
    const pkgs: string[] = [];
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = (m[1] ?? m[2])!;
      if (!spec.startsWith('.')) {
        pkgs.push(spec);
        continue;
      }
      const target = relative(abs, resolve(abs, dirname(file), spec)).replace(/\.js$/, '.ts');
      if (!local.includes(target)) local.push(target);
    }
    edges.set(file, local);
    packages.set(file, pkgs);
  }
  return { files, edges, packages };
}

/** Every cycle's files (strongly connected components of more than one file, or a file importing itself). */
export function importCycles(graph: ImportGraph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.edges.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.edges.get(v) ?? []).includes(v)) cycles.push(scc.sort());
    }
  };
  for (const f of graph.files) if (!idx.has(f)) visit(f);
  return cycles;
}

/**
 * The longest import chain (in files) starting anywhere among `within`, following
 * only imports that stay within it. The graph must have no cycle.
 */
export function deepestChain(graph: ImportGraph, within: (file: string) => boolean): string[] {
  const memo = new Map<string, string[]>();
  const longest = (f: string): string[] => {
    const known = memo.get(f);
    if (known) return known;
    let best: string[] = [];
    for (const t of graph.edges.get(f) ?? []) {
      if (!within(t)) continue;
      const chain = longest(t);
      if (chain.length > best.length) best = chain;
    }
    const chain = [f, ...best];
    memo.set(f, chain);
    return chain;
  };
  return graph.files.filter(within).reduce<string[]>((best, f) => {
    const chain = longest(f);
    return chain.length > best.length ? chain : best;
  }, []);
}

/** The fewest imports leading from `from` to `to` (the files, both ends included), or null if none does. */
export function shortestPath(graph: ImportGraph, from: string, to: string): string[] | null {
  const previous = new Map<string, string | null>([[from, null]]);
  const queue = [from];
  for (let f = queue.shift(); f !== undefined; f = queue.shift()) {
    if (f === to) {
      const path: string[] = [];
      for (let p: string | null = f; p !== null; p = previous.get(p)!) path.unshift(p);
      return path;
    }
    for (const t of graph.edges.get(f) ?? [])
      if (!previous.has(t)) {
        previous.set(t, f);
        queue.push(t);
      }
  }
  return null;
}
