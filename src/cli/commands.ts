import { checkEmail, checkNewPassword } from '../auth/auth.service.js';
import { createSecretBox, secretAad } from '../crypto/secret-box.js';
import { userNamed } from '../operator/operator.js';
import { createUser, deactivateUser, resetTwoFactor } from '../operator/users-admin.service.js';
import { revokeRole, setTwoFactorRequired } from '../policy/policy.repository.js';
import { userKeys } from '../two-factor/factors/webauthn.repository.js';
import { grantRole } from '../users/users.repository.js';
import { pendingWithSetupSecret, replaceSetupSecret } from '../two-factor/pending.repository.js';
import { replaceTotpSecret, usersWithTotpSecret } from '../users/users.repository.js';
import type { User } from '../users/users.repository.js';
import { replaceUsSecret, usSecrets } from '../unified-signin/us.repository.js';
import {
  CLI_OPERATOR,
  operatorDeps,
  requireString,
  USER_OPTION,
  type Command,
  type CommandContext,
} from './command.js';
import { operatorCommands } from './operator-commands.js';

export type { Command, CommandContext } from './command.js';

/** --role (or the second argument): a role name as the policy settings take it (README, "Two-factor policy"). */
function roleNamed(args: CommandContext['args']): string {
  const role = requireString(args, 'role');
  if (!/^[A-Za-z0-9._:-]{1,80}$/.test(role))
    throw new Error('a role name is 1-80 letters, digits, ".", "_", ":" or "-"');
  return role;
}

/** `users:grant-role` / `users:revoke-role <email> <role>`: the user and the role checked, then `apply`. */
function roleCommand(
  description: string,
  apply: (ctx: CommandContext, user: User, role: string) => Promise<string>,
): Command {
  return {
    description,
    usage: '<email> <role>',
    options: { ...USER_OPTION, role: { type: 'string', description: 'the role name' } },
    positionals: ['email', 'role'],
    async run(ctx) {
      const role = roleNamed(ctx.args);
      return apply(ctx, await userNamed(ctx.db, requireString(ctx.args, 'email')), role);
    },
  };
}

/** Commands by name (README, "Command line"). */
export const commands: Record<string, Command> = {
  migrate: {
    description: 'apply database migrations (the service also does this at start)',
    usage: '',
    options: {},
    // main() has already migrated by the time a command runs.
    run: async () => 'migrations applied',
  },
  'users:create': {
    description: 'create a user, confirmed; the password is read from standard input',
    usage: '--email E --password-stdin [--role R]',
    options: {
      email: { type: 'string', description: 'the new user’s e-mail address' },
      'password-stdin': { type: 'boolean', description: 'read the password from standard input (required)' },
      role: { type: 'string', description: 'a role to grant' },
    },
    async run(ctx) {
      const { config, args, readStdin } = ctx;
      const email = requireString(args, 'email');
      // Passwords never go on the command line, where `ps` and shell history would keep them.
      if (!args['password-stdin']) throw new Error('--password-stdin is required: pipe the password in');
      const password = await readStdin();
      try {
        checkEmail(email);
        checkNewPassword(config, password);
      } catch {
        throw new Error(`invalid e-mail or password (at least ${config.SECURITY_PASSWORD_LENGTH_MIN} characters)`);
      }
      const roles = typeof args.role === 'string' ? [args.role] : [];
      const { user } = await createUser(operatorDeps(ctx), CLI_OPERATOR, { email, password, roles });
      return `created user ${user.email}`;
    },
  },
  'users:deactivate': {
    description: 'disable an account and end its sessions and tokens',
    usage: '--email E',
    options: USER_OPTION,
    async run(ctx) {
      const { user } = await deactivateUser(operatorDeps(ctx), CLI_OPERATOR, requireString(ctx.args, 'email'));
      return `deactivated ${user.email}`;
    },
  },
  'users:reset-2fa': {
    description: 'help-desk reset: remove the second factor, recovery codes and remembered devices; end sessions',
    usage: '--email E --reason "why"',
    options: { ...USER_OPTION, reason: { type: 'string', description: 'why (required; kept in the audit trail)' } },
    async run(ctx) {
      const reason = requireString(ctx.args, 'reason');
      const { user } = await resetTwoFactor(operatorDeps(ctx), CLI_OPERATOR, requireString(ctx.args, 'email'), reason);
      return `reset two-factor authentication of ${user.email}`;
    },
  },
  'users:keys': {
    description: "list a user's security keys (never the key material)",
    usage: '--email E',
    options: { ...USER_OPTION },
    /** The user's security keys (README "Security keys"), one line each. */
    async run(ctx) {
      const user = await userNamed(ctx.db, requireString(ctx.args, 'email'));
      const keys = await userKeys(ctx.db, user.id);
      if (keys.length === 0) return `${user.email} has no security keys`;
      return keys
        .map((k) => {
          const last = k.last_used_at ? k.last_used_at.toISOString() : 'never';
          return `${k.name}\t${k.usage}\tregistered ${k.created_at.toISOString()}\tlast used ${last}\t${k.device_type}`;
        })
        .join('\n');
    },
  },
  'users:require-2fa': {
    description: 'the per-user two-factor requirement, on top of SECURITY_TWO_FACTOR_REQUIRED and the roles',
    usage: '<email> on|off',
    options: { ...USER_OPTION, state: { type: 'string', description: 'on or off' } },
    positionals: ['email', 'state'],
    /** README, "Two-factor policy". */
    async run(ctx) {
      const state = requireString(ctx.args, 'state').toLowerCase();
      if (state !== 'on' && state !== 'off') throw new Error('the state must be on or off');
      const deps = operatorDeps(ctx);
      const user = await userNamed(ctx.db, requireString(ctx.args, 'email'));
      await setTwoFactorRequired(ctx.db, user.id, state === 'on');
      await deps.audit.record(ctx.db, 'user.tf_required', user.id, CLI_OPERATOR.audit, {
        operator: CLI_OPERATOR.name,
        required: state === 'on',
      });
      return `two-factor authentication ${state === 'on' ? 'required' : 'no longer required by user setting'} for ${user.email}`;
    },
  },
  'users:grant-role': roleCommand('give a user a role (created on first use)', async (ctx, user, role) => {
    await grantRole(ctx.db, user.id, role);
    await operatorDeps(ctx).audit.record(ctx.db, 'user.role_granted', user.id, CLI_OPERATOR.audit, {
      operator: CLI_OPERATOR.name,
      role,
    });
    return `granted role ${role} to ${user.email}`;
  }),
  'users:revoke-role': roleCommand('take a role from a user', async (ctx, user, role) => {
    if (!(await revokeRole(ctx.db, user.id, role))) return `${user.email} does not have role ${role}`;
    await operatorDeps(ctx).audit.record(ctx.db, 'user.role_revoked', user.id, CLI_OPERATOR.audit, {
      operator: CLI_OPERATOR.name,
      role,
    });
    return `revoked role ${role} from ${user.email}`;
  }),
  'keys:rotate': {
    description: 're-encrypt every TOTP secret with the newest key of SECURITY_TOTP_SECRETS',
    usage: '',
    options: {},
    /** Re-encrypts every TOTP secret with the newest key of SECURITY_TOTP_SECRETS (docs/architecture.md, Secrets at rest). */
    async run({ config, db }) {
      const box = createSecretBox(config.SECURITY_TOTP_SECRETS);
      let users = 0;
      for (const row of await usersWithTotpSecret(db)) {
        if (!row.tf_totp_secret || !box.needsRotation(row.tf_totp_secret)) continue;
        const aad = secretAad(row.id);
        await replaceTotpSecret(db, row.id, row.tf_totp_secret, box.encrypt(box.decrypt(row.tf_totp_secret, aad), aad));
        users++;
      }
      // Unified sign-in's authenticator secrets (unified-signin/us.repository.ts), compared-and-set the same way.
      let us = 0;
      for (const row of await usSecrets(db)) {
        if (!row.totp_secret || !box.needsRotation(row.totp_secret)) continue;
        const aad = secretAad(row.user_id);
        if (
          await replaceUsSecret(db, row.user_id, row.totp_secret, box.encrypt(box.decrypt(row.totp_secret, aad), aad))
        )
          us++;
      }
      let pending = 0;
      for (const row of await pendingWithSetupSecret(db)) {
        if (!row.setup_secret || !box.needsRotation(row.setup_secret)) continue;
        const aad = secretAad(row.user_id);
        await replaceSetupSecret(db, row.id, box.encrypt(box.decrypt(row.setup_secret, aad), aad));
        pending++;
      }
      return `re-encrypted ${users} TOTP secret(s), ${us} unified sign-in secret(s) and ${pending} pending setup(s) with key ${box.currentTag}`;
    },
  },
  ...operatorCommands,
};
