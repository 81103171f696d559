import type { Kysely } from 'kysely';
import { insertAuditRow, type AuditType } from '../audit/audit.js';
import { newFsUniquifier, checkEmail, checkNewPassword } from '../auth/auth.service.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { createSecretBox, secretAad } from '../crypto/secret-box.js';
import { deleteUserSessions } from '../db/session-store.js';
import { deleteRecoveryCodes } from '../recovery-codes/recovery-codes.repository.js';
import { hashPassword } from '../users/passwords.js';
import { deleteUserDevices } from '../devices/devices.repository.js';
import { deleteUserPending, pendingWithSetupSecret, replaceSetupSecret } from '../two-factor/pending.repository.js';
import { replaceUsSecret, usSecrets } from '../unified-signin/us.repository.js';
import {
  findUserByEmail,
  grantRole,
  insertUser,
  replaceTotpSecret,
  resetSecondFactor,
  setActive,
  usersWithTotpSecret,
  type User,
} from '../users/users.repository.js';

export interface CommandContext {
  config: Config;
  db: Kysely<DB>;
  args: Record<string, string | boolean | undefined>;
  readStdin: () => Promise<string>;
}

type Options = Record<string, { type: 'string' | 'boolean' }>;

export interface Command {
  usage: string;
  options: Options;
  run(ctx: CommandContext): Promise<string>;
}

function requireString(args: CommandContext['args'], name: string): string {
  const v = args[name];
  if (typeof v !== 'string' || v === '') throw new Error(`--${name} is required`);
  return v;
}

/** The user named by --email, or a clear error. */
async function userNamed(db: Kysely<DB>, args: CommandContext['args']): Promise<User> {
  const email = requireString(args, 'email');
  const user = await findUserByEmail(db, email);
  if (!user) throw new Error(`no user ${email}`);
  return user;
}

function cliAudit(db: Kysely<DB>, type: AuditType, userId: number): Promise<void> {
  return insertAuditRow(db, {
    user_id: userId,
    type,
    at: new Date(),
    ip: null,
    user_agent: 'cli',
    details: '{}',
  });
}

/** Commands by name. */
export const commands: Record<string, Command> = {
  migrate: {
    usage: '',
    options: {},
    // main() has already migrated by the time a command runs.
    run: async () => 'migrations applied',
  },
  'users:create': {
    usage: '--email E --password-stdin [--role R]',
    options: { email: { type: 'string' }, 'password-stdin': { type: 'boolean' }, role: { type: 'string' } },
    async run({ config, db, args, readStdin }) {
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
      const user = await insertUser(db, {
        email,
        passwordHash: await hashPassword(password),
        fsUniquifier: newFsUniquifier(),
        confirmedAt: new Date(),
      });
      if (!user) throw new Error(`${email} is already associated with an account.`);
      if (typeof args.role === 'string') await grantRole(db, user.id, args.role);
      await cliAudit(db, 'user.created', user.id);
      return `created user ${user.email}`;
    },
  },
  'users:deactivate': {
    usage: '--email E',
    options: { email: { type: 'string' } },
    async run({ db, args }) {
      const user = await userNamed(db, args);
      // A new fs_uniquifier ends every session and token at once.
      await setActive(db, user.id, false, newFsUniquifier());
      await deleteUserSessions(db, user.id);
      await cliAudit(db, 'user.deactivated', user.id);
      return `deactivated ${user.email}`;
    },
  },
  'users:reset-2fa': {
    usage: '--email E',
    options: { email: { type: 'string' } },
    async run({ db, args }) {
      const user = await userNamed(db, args);
      // Everything a user's second factor consists of, and a new fs_uniquifier that
      // ends every session, token and remembered device at once.
      await db.transaction().execute(async (trx) => {
        await resetSecondFactor(trx, user.id, newFsUniquifier());
        await deleteUserDevices(trx, user.id);
        await deleteUserPending(trx, user.id);
        await deleteRecoveryCodes(trx, user.id);
        await deleteUserSessions(trx, user.id);
      });
      await cliAudit(db, 'user.reset_2fa', user.id);
      return `reset two-factor authentication of ${user.email}`;
    },
  },
  'keys:rotate': {
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
};
