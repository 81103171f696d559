/**
 * The shape of src/ that docs/architecture.md describes, checked: no import
 * cycle anywhere (a cycle makes load order matter and hides which way a
 * dependency runs), no service that knows Fastify (services take a Caller and
 * return outcomes), and no file outside two-factor/factors/ and the config
 * that names a second-factor method (a new factor is one file there).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { importCycles, importGraph } from '../helpers/import-graph.js';

const SRC = join(import.meta.dirname, '../../src');
const graph = importGraph(SRC);

test('src/ has no import cycle', () => {
  assert.ok(graph.files.length > 50, `read ${graph.files.length} files`);
  assert.deepEqual(importCycles(graph), []);
});

test('the cycle check finds a cycle when there is one', () => {
  const edges = new Map([
    ['a.ts', ['b.ts']],
    ['b.ts', ['c.ts']],
    ['c.ts', ['a.ts']],
    ['d.ts', ['a.ts']],
  ]);
  assert.deepEqual(importCycles({ files: [...edges.keys()], edges, packages: new Map() }), [['a.ts', 'b.ts', 'c.ts']]);
});

test('no *.service.ts imports fastify', () => {
  const services = graph.files.filter((f) => f.endsWith('.service.ts'));
  assert.ok(services.length >= 8, `found ${services.length} services`);
  const offenders = services.filter((f) =>
    graph.packages.get(f)!.some((p) => p === 'fastify' || p.startsWith('@fastify/')),
  );
  assert.deepEqual(offenders, []);
});

test('no file outside two-factor/factors/ and the config switches on a factor id', () => {
  const allowed = (f: string) => f.startsWith('two-factor/factors/') || f === 'config/schema.ts';
  const offenders = graph.files.filter(
    (f) => !allowed(f) && /'authenticator'|=== 'sms'/.test(readFileSync(join(SRC, f), 'utf8')),
  );
  assert.deepEqual(offenders, []);
});
