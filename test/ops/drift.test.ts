/**
 * The Dockerfile, docker-compose.yml and .env.example restate what the code
 * defines (variables, port, start command). No Docker engine runs in CI, so
 * this test is what keeps them honest: each assertion names what drifted.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { schema } from '../../src/config.js';
import { all, envOf, execForm, parseDockerfile, type Stage } from '../helpers/dockerfile.js';

const root = new URL('../../', import.meta.url);
const read = (file: string) => readFileSync(new URL(file, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  engines: { node: string };
};
const stages = parseDockerfile(read('Dockerfile'));
const runtime = stages.at(-1) as Stage;
const compose = parseYaml(read('docker-compose.yml')) as { services: Record<string, any> };
const app = compose.services.app;
const known = new Set(Object.keys(schema));
const field = (name: string) =>
  (schema as Record<string, { parse(raw: string | undefined, name: string): unknown }>)[name]!;

/** `VAR=value` and `# VAR=value` lines of .env.example. */
function envExample(): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of read('.env.example').split('\n')) {
    const m = /^(?:# )?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!);
  }
  return vars;
}

const unknown = (names: Iterable<string>) => [...names].filter((n) => !known.has(n));

test('.env.example documents exactly the variables of the config schema, with their defaults', () => {
  const example = envExample();
  const missing = [...known].filter((n) => !example.has(n));
  assert.deepEqual(missing, [], `.env.example lacks ${missing.join(', ')}`);
  assert.deepEqual(unknown(example.keys()), [], `.env.example names variables the service does not read`);
  for (const [name, value] of example) {
    assert.deepEqual(
      field(name).parse(value, name),
      field(name).parse(undefined, name),
      `.env.example shows ${name}=${value}, but the default differs`,
    );
  }
  const lines = read('.env.example').split('\n');
  lines.forEach((line, i) => {
    const isVar = (l = '') => /^(# )?[A-Z][A-Z0-9_]*=/.test(l);
    if (isVar(line))
      assert.ok(/^# \S/.test(lines[i - 1] ?? '') && !isVar(lines[i - 1]), `${line} needs a one-line comment above it`);
  });
});

test('the Dockerfile and docker-compose.yml set only variables the service reads, to valid values', () => {
  const dockerEnv = envOf(runtime);
  assert.deepEqual(unknown(Object.keys(dockerEnv)), [], 'Dockerfile ENV names unknown variables');
  for (const [name, value] of Object.entries(dockerEnv))
    assert.doesNotThrow(() => field(name).parse(value, name), `Dockerfile ENV ${name}=${value}`);

  const composeEnv = app.environment as Record<string, string>;
  assert.deepEqual(unknown(Object.keys(composeEnv)), [], 'docker-compose.yml app.environment names unknown variables');
  const substituted = [...JSON.stringify(compose).matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!);
  assert.deepEqual(
    unknown(substituted),
    [],
    'docker-compose.yml substitutes ${VAR}s the service does not read (document them in the schema or drop them)',
  );
  for (const [name, raw] of Object.entries(composeEnv)) {
    const value = String(raw).replace(/^\$\{\w+:-(.*)\}$/, '$1'); // the default compose falls back to
    assert.doesNotThrow(() => field(name).parse(value, name), `docker-compose.yml ${name}=${value}`);
  }
  assert.equal(dockerEnv.HOST, '0.0.0.0', 'the image listens on every interface (SPEC §8)');
  assert.equal(composeEnv.HOST, '0.0.0.0');
});

test('one port: schema default, Dockerfile ENV/EXPOSE/HEALTHCHECK, compose', () => {
  const port = String(field('PORT').parse(undefined, 'PORT'));
  const metricsPort = String(field('METRICS_PORT').parse(undefined, 'METRICS_PORT'));
  assert.deepEqual(
    all(runtime, 'EXPOSE'),
    [port, metricsPort],
    `Dockerfile EXPOSE should be the PORT default ${port} and the METRICS_PORT default ${metricsPort}`,
  );
  assert.equal(envOf(runtime).PORT, port, 'Dockerfile ENV PORT');
  const health = all(runtime, 'HEALTHCHECK')[0] ?? '';
  const probe = execForm(health.slice(health.indexOf('CMD ') + 4)).join(' ');
  assert.match(probe, /\/healthz/, 'the health check asks /healthz');
  assert.match(
    probe,
    new RegExp(`process\\.env\\.PORT \\|\\| ${port}\\b`),
    `the health check falls back to port ${port}`,
  );
  assert.equal(String(app.environment.PORT), port, 'docker-compose.yml app PORT');
  const published = (app.ports as string[]).map((p) => String(p).split(':').at(-1));
  assert.deepEqual(
    published,
    [port],
    `docker-compose.yml publishes container port ${published.join(', ')}, the service listens on ${port}`,
  );
});

test('one start command: Dockerfile CMD is package.json "start:prod", built by "build", run as node PID 1', () => {
  const cmd = execForm(all(runtime, 'CMD').at(-1) ?? '[]').join(' ');
  assert.equal(
    cmd,
    pkg.scripts['start:prod'],
    `Dockerfile CMD "${cmd}" differs from npm run start:prod "${pkg.scripts['start:prod']}"`,
  );
  assert.equal(
    runtime.instructions.some((i) => i.op === 'ENTRYPOINT'),
    false,
    'no ENTRYPOINT wrapping the command (signals go to node)',
  );
  assert.equal(app.command ?? app.entrypoint, undefined, 'docker-compose.yml must not override the image command');
  const script = cmd.split(' ').find((w) => w.endsWith('.js'))!;
  assert.ok(
    existsSync(new URL(script.replace(/^dist\//, '').replace(/\.js$/, '.ts'), root)),
    `${script} is not built from any source file`,
  );
  const build = stages.find((s) => all(s, 'RUN').some((r) => r.includes('npm run build')));
  assert.ok(build, 'a stage runs npm run build');
  assert.ok(
    all(runtime, 'COPY').some((c) => c.includes(`--from=${build.name}`) && c.includes('dist')),
    'the runtime stage takes dist/ from the build stage',
  );
  assert.ok(
    all(build, 'RUN').some((r) => /npm ci\b/.test(r)) && all(runtime, 'RUN').some((r) => /npm ci --omit=dev/.test(r)),
    'npm ci in the build, npm ci --omit=dev at run time',
  );
  assert.deepEqual(all(runtime, 'STOPSIGNAL'), ['SIGTERM']);
  const user = all(runtime, 'USER').at(-1);
  assert.ok(user && user !== 'root' && user !== '0', 'the service runs as a non-root user');
});

test('`npm run cli` works in the image: its runner is a production dependency and its source is copied', () => {
  const [runner, entry] = pkg.scripts.cli!.split(' ');
  assert.ok(pkg.dependencies[runner!], `${runner} must be a production dependency (npm ci --omit=dev)`);
  const copied = all(runtime, 'COPY').filter((c) => !c.startsWith('--from'));
  for (const dir of [entry!.split('/')[0], 'migrations']) {
    assert.ok(
      copied.some((c) => c.split(/\s+/)[0] === dir),
      `the runtime stage copies ${dir}/ for npm run cli`,
    );
  }
  for (const s of stages)
    assert.match(s.from, /^node:20(\.|-|$)/, `${s.from}: Node 20, as package.json engines ${pkg.engines.node}`);
});

test('compose: Postgres behind a health check, credentials that match DATABASE_URL, a grace period above SHUTDOWN_TIMEOUT', () => {
  const pgService = compose.services.postgres;
  assert.match(String(pgService.image), /^postgres:/);
  assert.match(JSON.stringify(pgService.healthcheck?.test), /pg_isready/);
  assert.equal(app.depends_on?.postgres?.condition, 'service_healthy');
  const url = new URL(String(app.environment.DATABASE_URL).replace(/^\$\{\w+:-(.*)\}$/, '$1'));
  const e = pgService.environment;
  assert.deepEqual(
    [url.username, url.password, url.pathname.slice(1), url.hostname],
    [e.POSTGRES_USER, String(e.POSTGRES_PASSWORD), e.POSTGRES_DB, 'postgres'],
    'DATABASE_URL in docker-compose.yml does not match the postgres service',
  );
  assert.ok(
    compose.services[new URL(String(app.environment.REDIS_URL).replace(/^\$\{\w+:-(.*)\}$/, '$1')).hostname],
    'REDIS_URL names a compose service',
  );
  const grace = Number(/^(\d+)s$/.exec(String(app.stop_grace_period))?.[1]);
  const timeout = field('SHUTDOWN_TIMEOUT').parse(undefined, 'SHUTDOWN_TIMEOUT') as number;
  assert.ok(
    grace > timeout,
    `stop_grace_period ${app.stop_grace_period} must exceed SHUTDOWN_TIMEOUT ${timeout}s, or SIGKILL cuts the drain short`,
  );
});

test('every package the service imports is a production dependency (the image has no devDependencies)', () => {
  const files = readdirSync(new URL('src/', root), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  const imported = new Set<string>();
  for (const f of files) {
    // Type-only imports vanish at build time; everything else must resolve in the runtime stage.
    const code = read(`src/${f}`).replace(/^import type .*$/gm, '');
    for (const m of code.matchAll(/(?:\bfrom|\bimport\(?)\s*'([^'.][^']*)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  const dev = [...imported].filter((p) => !pkg.dependencies[p]);
  assert.deepEqual(dev, [], `src/ imports packages missing from "dependencies": ${dev.join(', ')}`);
  assert.ok(imported.has('fastify') && imported.has('prom-client'), 'the scan found the imports');
});
