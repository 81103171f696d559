import { sql, type Kysely } from 'kysely';

// Group commit of second-factor charges (docs/architecture.md, Budgets): the
// guesses that arrive in one event-loop round are charged by one call, in one
// transaction, instead of one statement each. The function runs, for each guess
// in the order given, the very statement that charged one guess before
// (src/two-factor/pending.repository.ts chargeGuess), so the outcome is that of
// those statements one after the other: n guesses on one pending row get
// attempts a+1 … a+n up to the cap, and the user's failures grow by one for each
// charged guess unless locked. First it locks every pending row named, then
// their users, each set in id order: the order every two-factor statement
// takes them in (pending row before user row), so batches of several instances
// and single statements never wait on each other in a circle.
//
// reqs: [{ord, id, now, states, kinds, signed_in}] (signed_in null: an anonymous caller).
// Returns, for each charged guess, its ord and the two rows as charged.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function charge_guesses(reqs jsonb, max_attempts integer, anonymous_kinds text[])
    returns table (ord integer, p tf_pending, u users) language plpgsql as $$
    #variable_conflict use_column
    declare
      r record;
    begin
      perform 1 from tf_pending t
        where t.id in (select x->>'id' from jsonb_array_elements(reqs) x)
        order by t.id for update;
      perform 1 from users w
        where w.id in (
          select t.user_id from tf_pending t where t.id in (select x->>'id' from jsonb_array_elements(reqs) x))
        order by w.id for update;
      for r in
        select * from jsonb_to_recordset(reqs)
          as x(ord integer, id text, now timestamptz, states text[], kinds text[], signed_in integer)
        order by x.ord
      loop
        return query
        with pc as (
          update tf_pending t set attempts = t.attempts + 1
          from users w
          where t.id = r.id and t.expires_at > r.now and t.state = any(r.states) and t.kind = any(r.kinds)
            and (case when r.signed_in is null then t.kind = any(anonymous_kinds)
                      else t.kind <> all(anonymous_kinds) and t.user_id = r.signed_in end)
            and w.id = t.user_id and w.active and w.fs_uniquifier = t.fs_uniquifier
            and t.attempts < max_attempts
          returning t.*
        ), uc as (
          -- A locked user is not charged: the lock decides, and its end is read from the locked row.
          update users w
          set tf_failures = case when w.tf_locked_until > r.now then w.tf_failures else w.tf_failures + 1 end
          where w.id in (select pc.user_id from pc)
          returning w.*
        )
        select r.ord, row(pc.*)::tf_pending, row(uc.*)::users from pc join uc on uc.id = pc.user_id;
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function charge_guesses(jsonb, integer, text[])`.execute(db);
}
