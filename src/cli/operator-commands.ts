import { mintOperatorToken } from '../operator/operator-tokens.js';
import { auditRecent } from '../operator/audit-trail.service.js';
import { deadDeliveries, retryDeadDeliveries } from '../operator/deliveries.service.js';
import { reactivateUser, showUser, unlockUser } from '../operator/users-admin.service.js';
import {
  CLI_OPERATOR,
  operatorDeps,
  requireString,
  USER_OPTION,
  type Command,
  type CommandContext,
} from './command.js';

function optional(args: CommandContext['args'], name: string): string | undefined {
  const v = args[name];
  return typeof v === 'string' ? v : undefined;
}

/** The operator verbs the operator API has too (README, "Operator API"): the same services underneath. */
export const operatorCommands: Record<string, Command> = {
  'users:show': {
    description: 'show a user’s second-factor state, lockout, devices and last sign-in (JSON; no secrets)',
    usage: '--email E',
    options: USER_OPTION,
    async run(ctx) {
      const shown = await showUser(operatorDeps(ctx), CLI_OPERATOR, requireString(ctx.args, 'email'));
      return JSON.stringify(shown.user, null, 2);
    },
  },
  'users:unlock': {
    description: 'end a second-factor lockout now',
    usage: '--email E',
    options: USER_OPTION,
    async run(ctx) {
      const { user, was_locked } = await unlockUser(operatorDeps(ctx), CLI_OPERATOR, requireString(ctx.args, 'email'));
      return was_locked ? `unlocked ${user.email}` : `${user.email} was not locked; its failure count is reset`;
    },
  },
  'users:reactivate': {
    description: 'enable a deactivated account again',
    usage: '--email E',
    options: USER_OPTION,
    async run(ctx) {
      const { user } = await reactivateUser(operatorDeps(ctx), CLI_OPERATOR, requireString(ctx.args, 'email'));
      return `reactivated ${user.email}`;
    },
  },
  'audit:tail': {
    description: 'the newest audit events, oldest first, one per line',
    usage: '[--user E] [--type T] [--since ISO] [--until ISO] [--limit N]',
    options: {
      user: { type: 'string', description: 'only this user’s events (e-mail address or id)' },
      type: { type: 'string', description: 'only events of this type, e.g. user.reset_2fa' },
      since: { type: 'string', description: 'only events at or after this time (ISO 8601)' },
      until: { type: 'string', description: 'only events before this time (ISO 8601)' },
      limit: { type: 'string', description: 'how many (default 20, at most 200)' },
    },
    async run(ctx) {
      const { args } = ctx;
      const { events } = await auditRecent(operatorDeps(ctx), CLI_OPERATOR, {
        user: optional(args, 'user'),
        type: optional(args, 'type'),
        since: optional(args, 'since'),
        until: optional(args, 'until'),
        limit: optional(args, 'limit') ?? '20',
      });
      if (events.length === 0) return 'no audit events match';
      return events
        .map(
          (e) =>
            `${e.id}\t${e.at}\t${e.type}\tuser=${e.user_id ?? '-'}\tip=${e.ip ?? '-'}\t${JSON.stringify(e.details)}`,
        )
        .join('\n');
    },
  },
  'events:dead': {
    description: 'list webhooks and security e-mails given up after WEBHOOK_GIVE_UP_AFTER (dead letters), oldest first',
    usage: '[--kind email|webhook] [--since ISO] [--limit N]',
    options: {
      kind: { type: 'string', description: 'only security e-mails (email) or only webhooks (webhook)' },
      since: { type: 'string', description: 'only those given up at or after this time (ISO 8601)' },
      limit: { type: 'string', description: 'how many (default 50, at most 200)' },
    },
    async run(ctx) {
      const { args } = ctx;
      const { deliveries } = await deadDeliveries(operatorDeps(ctx), {
        kind: optional(args, 'kind'),
        since: optional(args, 'since'),
        limit: optional(args, 'limit'),
      });
      if (deliveries.length === 0) return 'no dead letters';
      return deliveries
        .map(
          (d) =>
            `${d.given_up_at}\t${d.type}\tevent=${d.event_id}\tuser=${d.user_id ?? '-'}\t${d.receiver}\tattempts=${d.attempts}\tlast=${d.last_status ?? d.last_error ?? '-'}`,
        )
        .join('\n');
    },
  },
  'events:retry': {
    description: 'put dead letters back in the queue (after fixing the receiver); each keeps its event id',
    usage: '[--kind email|webhook] [--since ISO]',
    options: {
      kind: { type: 'string', description: 'only security e-mails (email) or only webhooks (webhook)' },
      since: { type: 'string', description: 'only those given up at or after this time (ISO 8601)' },
    },
    async run(ctx) {
      const { retried } = await retryDeadDeliveries(operatorDeps(ctx), CLI_OPERATOR, {
        kind: optional(ctx.args, 'kind'),
        since: optional(ctx.args, 'since'),
      });
      return `${retried} dead letter${retried === 1 ? '' : 's'} queued again`;
    },
  },
  'admin:token': {
    description: 'mint an operator token for the operator API; prints the token and the ADMIN_TOKENS entry',
    usage: '<name>',
    options: { name: { type: 'string', description: 'who holds the token (goes into the audit trail)' } },
    positional: 'name',
    local(args) {
      const name = requireString(args, 'name');
      const { token, entry } = mintOperatorToken(name);
      return [
        `token (give it to ${name}; it is shown only now): ${token}`,
        `add to ADMIN_TOKENS (comma-separated) or a line of ADMIN_TOKENS_FILE: ${entry}`,
      ].join('\n');
    },
    run: () => Promise.reject(new Error('admin:token runs on its own: it needs no database')),
  },
};
