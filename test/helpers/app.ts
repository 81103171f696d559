import { afterEach } from 'node:test';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppOptions } from '../../src/app.js';
import { FixedClock } from '../../src/clock.js';
import { loadConfig, type Config } from '../../src/config.js';
import type { Database } from '../../src/db/database.js';
import { createLogger } from '../../src/logger.js';
import { hashPassword } from '../../src/users/passwords.js';
import { insertUser, type User } from '../../src/users/users.repository.js';
import { newFsUniquifier } from '../../src/auth/auth.service.js';
import { createTestDatabase } from './db.js';
import { installContractCheck, type ContractCheck } from './openapi-contract.js';
import { RecordingSenders } from './senders.js';
import { harvestSecrets, recordSecret, suiteLogged } from './suite-log.js';

export const TEST_SECRETS = {
  SECRET_KEY: 'test-secret-key-0123456789abcdefghijklmnop',
  SECURITY_TOTP_SECRETS: JSON.stringify({ '1': 'test-totp-key-one-0123456789abcdef' }),
};

/**
 * Test apps serve /metrics on their API port (behind this token): the default, a
 * listener of its own on 9464, would clash between test files running in parallel.
 */
export const TEST_METRICS = { METRICS_PORT: '0', METRICS_TOKEN: 'test-metrics-token-0123456789' };
export const METRICS_AUTH = { authorization: `Bearer ${TEST_METRICS.METRICS_TOKEN}` };

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'info',
    RATE_LIMIT_MAX: '100000',
    ...TEST_SECRETS,
    ...TEST_METRICS,
    ...env,
  });
}

export interface TestApp {
  app: FastifyInstance;
  config: Config;
  database: Database;
  clock: FixedClock;
  senders: RecordingSenders;
  /** Every log line the app wrote (for the "no secret in the logs" checks). */
  logs: string[];
  /**
   * The openapi.yaml check of the current app (each rebuild installs a new one).
   * A test that provokes an undocumented answer on purpose asserts it here and
   * calls `clear()`; anything else left over fails the test.
   */
  contract: ContractCheck;
  rebuild(env?: Record<string, string>): Promise<void>;
  close(): Promise<void>;
}

/** Apps built here and not closed yet: the contract hook below checks them. */
const open = new Set<TestApp>();

/**
 * Every answer of every app built here is checked against openapi.yaml
 * (STYLE habit 12). Registered once, at the root of each test file that imports
 * this helper, so it runs after every test of that file, nested ones included:
 * a drifting answer fails the very test that provoked it, and no test file can
 * forget to opt in. `close()` and `rebuild()` check once more, for answers
 * that land after a test ended (a real listener finishes them asynchronously).
 */
afterEach(() => {
  for (const t of open) t.contract.assertNoViolations();
});

/**
 * One database per test file (fresh schema), an app per call with its own
 * config; `rebuild` swaps the config but keeps the data. `options` may carry a
 * Redis client and key prefix of the test's own (shared rate limits).
 */
export interface TestAppOptions extends Pick<AppOptions, 'redis' | 'rateLimitKeyPrefix'> {
  /** 'configured': the app builds its senders from the config (real SendGrid/Twilio clients). */
  senders?: 'recording' | 'configured';
  /**
   * Another app's clock, for instances that must agree on the time (as servers
   * with NTP do): two clocks made a moment apart disagree by that moment, which
   * shows in every Retry-After computed from the other instance's rows.
   */
  clock?: FixedClock;
}

export async function createTestApp(
  env: Record<string, string> = {},
  shared?: Database,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const { senders: senderKind, clock: sharedClock, ...extra } = options;
  const database = shared ?? (await createTestDatabase());
  const clock = sharedClock ?? new FixedClock(new Date());
  const senders = new RecordingSenders();
  const logs: string[] = [];
  const logger = createLogger(
    'info',
    suiteLogged((line) => void logs.push(line)),
  );
  for (const [name, value] of Object.entries(TEST_SECRETS)) recordSecret(name, value);
  const t: TestApp = {
    app: undefined as unknown as FastifyInstance,
    config: testConfig(env),
    database,
    clock,
    senders,
    logs,
    contract: undefined as unknown as ContractCheck,
    async rebuild(newEnv = env) {
      const broken = t.app ? await closeChecked(t.app, t.contract) : undefined;
      t.config = testConfig(newEnv);
      t.app = await buildApp({
        config: t.config,
        database,
        logger,
        clock,
        ...(senderKind === 'configured' ? {} : { senders }),
        ...extra,
      });
      t.contract = installContractCheck(t.app);
      harvestSecrets(t.app);
      await t.app.ready();
      if (broken) throw broken;
    },
    async close() {
      open.delete(t);
      const broken = await closeChecked(t.app, t.contract);
      if (!shared) await database.close();
      if (broken) throw broken;
    },
  };
  await t.rebuild(env);
  open.add(t);
  return t;
}

/**
 * Closes an app and returns (rather than throws) what broke the contract, so
 * the caller finishes its own clean-up first. Asserting before close() keeps
 * the app's other onClose hooks from being skipped by a throwing one.
 */
async function closeChecked(app: FastifyInstance, contract: ContractCheck): Promise<unknown> {
  let broken: unknown;
  try {
    contract.assertNoViolations();
  } catch (error) {
    broken = error;
  }
  await app.close();
  return broken;
}

export async function createUser(database: Database, email: string, password: string): Promise<User> {
  const user = await insertUser(database.db, {
    email,
    passwordHash: await hashPassword(password),
    fsUniquifier: newFsUniquifier(),
  });
  if (!user) throw new Error(`user ${email} exists`);
  return user;
}

let counter = 0;
/** A unique address per call, so tests in one file never collide. */
export function uniqueEmail(prefix = 'user'): string {
  counter++;
  return `${prefix}${counter}.${process.pid}@example.com`;
}

export type Res = LightMyRequestResponse;
