import { sql, type Kysely } from 'kysely';

// Group commit of refused guesses (docs/architecture.md, Budgets), the second
// statement of a wrong code: its tf.failed audit row, and the lock when this
// failure reaches the threshold. For each refusal in the order given, the
// function runs what src/two-factor/budget/lockout.repository.ts
// lockIfOverThreshold does for one, inside one transaction; only the refusal
// whose failure crossed the line sets the lock (the statement that sets it
// resets the count). Users are locked first, in id order, as charge_guesses
// does, so batches of several instances never wait on each other in a circle.
//
// reqs: [{ord, user_id, now, type, at, ip, user_agent, details}].
// Returns each refusal's ord and the end of the lock it set, or null.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create function refuse_guesses(reqs jsonb, threshold integer, base_seconds double precision)
    returns table (ord integer, locked_until timestamptz) language plpgsql as $$
    #variable_conflict use_column
    declare
      r record;
      until timestamptz;
    begin
      perform 1 from users w
        where w.id in (select (x->>'user_id')::integer from jsonb_array_elements(reqs) x)
        order by w.id for update;
      for r in
        select * from jsonb_to_recordset(reqs) as x(ord integer, user_id integer, now timestamptz, type text,
          at timestamptz, ip text, user_agent text, details jsonb)
        order by x.ord
      loop
        insert into audit_events (user_id, type, at, ip, user_agent, details)
          values (r.user_id, r.type, r.at, r.ip, r.user_agent, r.details);
        -- 2^n × base, capped at 2^10 (README configuration: SECURITY_TWO_FACTOR_LOCKOUT_*).
        update users w
          set tf_failures = 0, tf_lockouts = w.tf_lockouts + 1,
              tf_locked_until = r.now + make_interval(secs => base_seconds * power(2, least(w.tf_lockouts, 10)))
          where w.id = r.user_id and w.tf_failures >= threshold
          returning w.tf_locked_until into until;
        ord := r.ord;
        locked_until := until;
        return next;
      end loop;
    end $$`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop function refuse_guesses(jsonb, integer, double precision)`.execute(db);
}
