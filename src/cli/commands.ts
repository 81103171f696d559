import type { Kysely } from 'kysely';
import { newFsUniquifier, checkEmail, checkNewPassword } from '../auth/auth.service.js';
import type { Config } from '../config.js';
import type { DB } from '../db/types.js';
import { hashPassword } from '../users/passwords.js';
import { findUserByEmail, grantRole, insertUser, setActive } from '../users/users.repository.js';

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

async function cliAudit(db: Kysely<DB>, type: string, userId: number): Promise<void> {
  await db.insertInto('audit_events').values({ user_id: userId, type, at: new Date(), ip: null, user_agent: 'cli', details: '{}' }).execute();
}

/** Commands by name. Later features add theirs (users:reset-2fa, keys:rotate). */
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
      const user = await insertUser(db, { email, passwordHash: await hashPassword(password), fsUniquifier: newFsUniquifier(), confirmedAt: new Date() });
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
      const email = requireString(args, 'email');
      const user = await findUserByEmail(db, email);
      if (!user) throw new Error(`no user ${email}`);
      // A new fs_uniquifier ends every session and token at once.
      await setActive(db, user.id, false, newFsUniquifier());
      await db.deleteFrom('sessions').where('user_id', '=', user.id).execute();
      await cliAudit(db, 'user.deactivated', user.id);
      return `deactivated ${user.email}`;
    },
  },
};
