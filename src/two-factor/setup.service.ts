import type { FastifyRequest } from 'fastify';
import { auditContext } from '../audit/audit.js';
import { deleteUserDevices } from '../devices/devices.repository.js';
import { AppError, ValidationError } from '../errors.js';
import { requireFresh } from '../http/auth-context.js';
import { findUserById, type User } from '../users/users.repository.js';
import { deliverCode, reserveSend, type Channel } from './factors/send-code.js';
import { secretAad, type TfDeps } from './deps.js';
import { requirePending, startPending, wipePending, type PendingContext } from './pending.js';
import { updatePending } from './pending.repository.js';
import { normalizePhone } from './factors/phone.js';
import { qrSvgDataUri } from './factors/qrcode.js';
import { issueStateToken } from './state-token.js';
import { formatAuthrKey, generateTotpSecret, otpauthUri } from './factors/totp.js';

/** Who may use /tf-setup: a fresh signed-in user, or a pending sign-in that must set up. */
export async function setupCaller(
  deps: TfDeps,
  request: FastifyRequest,
): Promise<{ user: User; pending: PendingContext | null }> {
  if (request.auth) {
    const auth = requireFresh(request, deps.config, deps.clock);
    const user = await findUserById(deps.db, auth.user.id);
    if (!user) throw new AppError('UNAUTHENTICATED');
    return { user, pending: null };
  }
  const pending = await requirePending(deps, request, ['setup_from_login', 'validating_profile'], ['signin']);
  return { user: pending.user, pending };
}

export function availableMethods(deps: TfDeps, user: User): string[] {
  const methods = [...deps.config.SECURITY_TWO_FACTOR_ENABLED_METHODS];
  return !deps.config.SECURITY_TWO_FACTOR_REQUIRED && user.tf_primary_method ? ['disable', ...methods] : methods;
}

export interface SetupRequest {
  setup: string;
  phone: string | undefined;
}

/** Checks the choice; nothing is stored on the user until a code confirms it (SPEC §3). */
function checkChoice(deps: TfDeps, choice: SetupRequest): { method: string; phone: string | null } {
  const enabled = deps.config.SECURITY_TWO_FACTOR_ENABLED_METHODS as readonly string[];
  if (!enabled.includes(choice.setup))
    throw new ValidationError([{ field: 'setup', key: 'TWO_FACTOR_METHOD_NOT_AVAILABLE' }]);
  if (choice.setup !== 'sms') return { method: choice.setup, phone: null };
  const phone = choice.phone === undefined ? null : normalizePhone(choice.phone);
  if (!phone) throw new ValidationError([{ field: 'phone', key: 'PHONE_INVALID' }]);
  return { method: 'sms', phone };
}

export async function beginSetup(
  deps: TfDeps,
  request: FastifyRequest,
  choice: SetupRequest,
): Promise<Record<string, unknown>> {
  const { user, pending } = await setupCaller(deps, request);
  if (choice.setup === 'disable') return disable(deps, request, user, pending);
  const { method, phone } = checkChoice(deps, choice);
  const target: { channel: Channel; destination: string } | null =
    method === 'email'
      ? { channel: 'email', destination: user.email }
      : method === 'sms'
        ? { channel: 'sms', destination: phone! }
        : null;
  // Limits first: over the limit nothing changes and an earlier code stays valid.
  const sendId = target ? await reserveSend(deps, user.id, target.channel, target.destination) : undefined;

  const secret = generateTotpSecret();
  const setup = {
    state: 'validating_profile' as const,
    setup_method: method,
    setup_secret: deps.box.encrypt(secret, secretAad(user.id)),
    setup_phone: phone,
  };
  let pendingId: string;
  if (pending) {
    pendingId = pending.pending.id;
    await updatePending(deps.db, pendingId, {
      ...setup,
      code_hash: null,
      code_purpose: null,
      code_destination: null,
      code_expires_at: null,
    });
  } else {
    await wipePending(deps, request);
    pendingId = (
      await startPending(deps, request, user, { kind: 'change', state: 'validating_profile', remember: false })
    ).id;
    await updatePending(deps.db, pendingId, setup);
  }
  if (target && sendId !== undefined) {
    await deliverCode(deps, { pendingId, userId: user.id, purpose: 'setup', ...target }, sendId, auditContext(request));
  }
  const expires = new Date(deps.clock.now().getTime() + deps.config.SECURITY_TWO_FACTOR_SETUP_WITHIN * 1000);
  const answer: Record<string, unknown> = {
    tf_state: 'validating_profile',
    tf_primary_method: method,
    tf_method: method,
    tf_state_token: pending ? null : issueStateToken(deps.hmac, pendingId, user.id, expires),
  };
  if (method === 'authenticator') Object.assign(answer, await authenticatorFields(deps, user, secret));
  return answer;
}

async function authenticatorFields(deps: TfDeps, user: User, secret: string): Promise<Record<string, unknown>> {
  const issuer = deps.config.SECURITY_TOTP_ISSUER;
  const uri = otpauthUri({ issuer, username: user.email, secret });
  return {
    tf_authr_key: formatAuthrKey(secret),
    tf_authr_b32key: secret,
    tf_authr_issuer: issuer,
    tf_authr_username: user.email,
    tf_authr_uri: uri,
    tf_authr_qrcode: await qrSvgDataUri(uri),
  };
}

/** `setup: "disable"`: only for a signed-in user, and only when 2FA is optional (SPEC §4.4). */
async function disable(
  deps: TfDeps,
  request: FastifyRequest,
  user: User,
  pending: PendingContext | null,
): Promise<Record<string, unknown>> {
  if (pending || deps.config.SECURITY_TWO_FACTOR_REQUIRED) {
    throw new ValidationError([{ field: 'setup', key: 'TWO_FACTOR_METHOD_NOT_AVAILABLE' }]);
  }
  await wipePending(deps, request);
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('users')
      .set({ tf_primary_method: null, tf_totp_secret: null, tf_phone_number: null, tf_totp_last_step: null })
      .where('id', '=', user.id)
      .execute();
    await deleteUserDevices(trx, user.id);
    await deps.audit.record(trx, 'tf.disabled', user.id, auditContext(request));
  });
  if (request.session._user) request.session._user = { ...request.session._user, tf_primary_method: null };
  return {};
}
