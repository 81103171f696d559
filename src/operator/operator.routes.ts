import type { FastifyInstance } from 'fastify';
import { asBody, readBody } from '../http/input.js';
import { AppError } from '../errors.js';
import { operatorOf } from './operator-auth.js';
import type { OperatorDeps } from './operator.js';
import { auditTrail } from './audit-trail.service.js';
import { deadDeliveries, retryDeadDeliveries } from './deliveries.service.js';
import {
  createUser,
  deactivateUser,
  listUsers,
  reactivateUser,
  resetTwoFactor,
  showUser,
  unlockUser,
} from './users-admin.service.js';

type Query = Record<string, unknown>;

/** A query parameter given once as text (a repeated one is refused, not guessed at). */
function param(query: unknown, name: string): string | undefined {
  const v = (query as Query | undefined)?.[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length > 320) throw new AppError('API_ERROR', { field: name });
  return v;
}

/** The operator API (README, "Operator API"; openapi.yaml, tag Operator API): thin handlers over the services the CLI uses too. */
export async function operatorRoutes(app: FastifyInstance, deps: OperatorDeps): Promise<void> {
  app.get('/admin/users', async (request) =>
    listUsers(deps, operatorOf(request), {
      cursor: param(request.query, 'cursor'),
      limit: param(request.query, 'limit'),
    }),
  );

  app.post('/admin/users', async (request, reply) => {
    const body = readBody(request.body);
    const email = body.string('email', { max: 254 });
    const password = body.string('password', { max: 4096 });
    const roles = body.raw('roles');
    const validRoles =
      roles === undefined ||
      (Array.isArray(roles) && roles.length <= 20 && roles.every((r) => typeof r === 'string' && /^\S{1,80}$/.test(r)));
    if (!validRoles) body.fail('roles', 'API_ERROR');
    body.done();
    const result = await createUser(deps, operatorOf(request), {
      email,
      password,
      roles: (roles as string[] | undefined) ?? [],
    });
    reply.code(201);
    return result;
  });

  app.get<{ Params: { user: string } }>('/admin/users/:user', async (request) =>
    showUser(deps, operatorOf(request), request.params.user),
  );

  app.post<{ Params: { user: string } }>('/admin/users/:user/reset-2fa', async (request) => {
    const body = readBody(request.body);
    const reason = body.string('reason', { max: 500 });
    body.done();
    return resetTwoFactor(deps, operatorOf(request), request.params.user, reason);
  });

  app.post<{ Params: { user: string } }>('/admin/users/:user/unlock', async (request) =>
    unlockUser(deps, operatorOf(request), request.params.user),
  );
  app.post<{ Params: { user: string } }>('/admin/users/:user/deactivate', async (request) =>
    deactivateUser(deps, operatorOf(request), request.params.user),
  );
  app.post<{ Params: { user: string } }>('/admin/users/:user/reactivate', async (request) =>
    reactivateUser(deps, operatorOf(request), request.params.user),
  );

  app.get('/admin/audit', async (request) => {
    const q = request.query;
    return auditTrail(deps, operatorOf(request), {
      user: param(q, 'user'),
      type: param(q, 'type'),
      since: param(q, 'since'),
      until: param(q, 'until'),
      cursor: param(q, 'cursor'),
      limit: param(q, 'limit'),
    });
  });

  app.get('/admin/deliveries/dead', async (request) => {
    const q = request.query;
    return deadDeliveries(deps, {
      kind: param(q, 'kind'),
      since: param(q, 'since'),
      cursor: param(q, 'cursor'),
      limit: param(q, 'limit'),
    });
  });

  app.post('/admin/deliveries/retry', async (request) => {
    const body = readBody(request.body);
    const kind = body.optionalString('kind', { max: 16 });
    const since = body.optionalString('since', { max: 64 });
    // A bulk action: a misspelt filter must not silently widen it to every dead letter.
    for (const field of Object.keys(asBody(request.body)))
      if (field !== 'kind' && field !== 'since') body.fail(field, 'API_ERROR');
    body.done();
    return retryDeadDeliveries(deps, operatorOf(request), { kind, since });
  });
}
