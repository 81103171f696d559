import type { Kysely } from 'kysely';

// Unified sign-in (issue #18, docs/architecture.md "Unified sign-in"): the sign-in methods a
// user set up with /us-setup, one row per method, apart from the second factor's columns on
// `users` (as Flask-Security keeps us_totp_secrets and us_phone_number apart from tf_*): a
// phone or authenticator used to sign in is not thereby a second factor, and removing one
// never touches the other. The authenticator's secret is encrypted (crypto/secret-box.ts);
// its last accepted TOTP step refuses replays. Pending codes live in tf_pending rows of the
// kinds us_signin, us_verify and us_setup (only keyed hashes, as every code).
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('us_methods')
    .addColumn('user_id', 'integer', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('method', 'varchar(16)', (c) => c.notNull())
    .addColumn('totp_secret', 'varchar(255)')
    .addColumn('phone', 'varchar(32)')
    .addColumn('totp_last_step', 'integer')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull())
    .addPrimaryKeyConstraint('us_methods_pk', ['user_id', 'method'])
    .execute();
  // The first factor of a pending sign-in when it was not the password (a unified sign-in
  // e-mail code): the completed sign-in's authn_methods and audit row name it.
  await db.schema.alterTable('tf_pending').addColumn('first_factor', 'varchar(16)').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('tf_pending').dropColumn('first_factor').execute();
  await db.schema.dropTable('us_methods').execute();
}
