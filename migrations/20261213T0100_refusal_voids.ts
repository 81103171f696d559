import { type Kysely } from 'kysely';
import { rewrite } from './20261212T0100_guess_locks_by_index.js';

/**
 * The cap's failure voids its pending sign-in in the statement that refuses it
 * (docs/architecture.md, Budgets; lockIfOverThreshold in
 * src/two-factor/budget/lockout.repository.ts for a lone refusal): a refusal
 * may carry `void_id` and the tf.too_many_attempts row (`void_*`), and unless
 * it sets the lock, refuse_guesses deletes that pending row (kept if its sent
 * code was just used: the request that used it is completing the sign-in) and
 * writes the row. The pending rows to void are locked first, in id order, then
 * the users, as charge_guesses takes them: pending rows before users is the
 * order of every two-factor statement. A refusal without `void_id`, as an
 * instance of the version before sends it, runs as before.
 */
const REWRITES: Array<{ from: string; to: string }> = [
  {
    from: `      perform 1 from users w
`,
    to: `      perform 1 from tf_pending p
        where p.id = any(array(select x->>'void_id' from jsonb_array_elements(reqs) x))
        order by p.id for update;
      perform 1 from users w
`,
  },
  {
    from: `at timestamptz, ip text, user_agent text, details jsonb)`,
    to: `at timestamptz, ip text, user_agent text, details jsonb, void_id text, void_type text, void_at timestamptz,
          void_ip text, void_user_agent text, void_details jsonb)`,
  },
  {
    from: `          returning w.tf_locked_until into until;
`,
    to: `          returning w.tf_locked_until into until;
        if r.void_id is not null and until is null then
          delete from tf_pending p
            where p.id = r.void_id and (p.code_purpose is null or p.code_hash is not null);
          insert into audit_events (user_id, type, at, ip, user_agent, details)
            values (r.user_id, r.void_type, r.void_at, r.void_ip, r.void_user_agent, r.void_details);
        end if;
`,
  },
];

export async function up(db: Kysely<any>): Promise<void> {
  for (const { from, to } of REWRITES) await rewrite(db, 'refuse_guesses', from, to);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const { from, to } of [...REWRITES].reverse()) await rewrite(db, 'refuse_guesses', to, from);
}
