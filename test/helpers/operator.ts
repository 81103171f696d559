import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createLogger } from '../../src/logger.js';
import { buildOperatorApp } from '../../src/operator/operator.app.js';
import { mintOperatorToken } from '../../src/operator/operator-tokens.js';
import type { TestApp } from './app.js';
import { installContractCheck, type ContractCheck } from './openapi-contract.js';
import { recordSecret, suiteLogged } from './suite-log.js';

/** Two operators' tokens, minted the way `admin:token` does; the config holds only their hashes. */
const alice = mintOperatorToken('alice');
const bob = mintOperatorToken('bob.on-call');
recordSecret('operator token', alice.token);
recordSecret('operator token', bob.token);

export const OPERATOR = { alice: alice.token, bob: bob.token };
/** The environment that admits them (add to createTestApp's env). */
export const OPERATOR_ENV = { ADMIN_TOKENS: `${alice.entry},${bob.entry}` };

export interface OperatorApp {
  app: FastifyInstance;
  contract: ContractCheck;
  /** A request with `Authorization: Bearer <token>` (alice's unless given); JSON body when one is passed. */
  call(
    method: string,
    url: string,
    body?: unknown,
    token?: string | null,
  ): Promise<LightMyRequestResponse & { data: any }>;
  close(): Promise<void>;
}

/** The operator listener's app over a test app's database, config and clock, its answers checked against openapi.yaml. */
export async function createOperatorApp(t: TestApp): Promise<OperatorApp> {
  const logger = createLogger(
    'info',
    suiteLogged((line) => void t.logs.push(line)),
  );
  const app = await buildOperatorApp({ config: t.config, database: t.database, logger, clock: t.clock });
  const contract = installContractCheck(app);
  await app.ready();
  return {
    app,
    contract,
    async call(method, url, body, token = OPERATOR.alice) {
      const headers: Record<string, string> = {};
      if (token !== null) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers,
        payload: body === undefined ? undefined : JSON.stringify(body),
      });
      let data: any;
      try {
        data = JSON.parse(res.body);
      } catch {
        data = undefined;
      }
      return Object.assign(res, { data });
    },
    async close() {
      try {
        contract.assertNoViolations();
      } finally {
        await app.close();
      }
    },
  };
}
