-- A session-level advisory lock waited for in PostgreSQL's own queue, for at
-- most p_wait_ms (the merge queue across runners, src/runner/merge-lock.ts):
-- waiters are served in the order they asked, and a released lock goes to the
-- next at once, where runners polling with pg_try_advisory_lock left it free
-- until someone's next try and handed it to whoever tried first (one runner's
-- whole line before another's: p95 wait 25 s with 4 runners). One round trip:
-- lock_timeout is set for this statement's transaction only, and a session lock
-- taken inside the block stays held after it (advisory locks ignore rollback).
create function samgita_wait_advisory_lock(p_key text, p_wait_ms int)
returns boolean
language plpgsql volatile as $$
declare
  k bigint := hashtext(p_key);
begin
  perform set_config('lock_timeout', greatest(p_wait_ms, 1)::text, true);
  perform pg_advisory_lock(k);
  return true;
exception when lock_not_available then
  -- The grant can come just as the timeout fires: PostgreSQL then keeps the
  -- session lock although the statement failed (LockErrorCleanup). It is ours,
  -- and saying otherwise would leave it held by a connection back in its pool
  -- (seen: 416 of 2,894 timeouts raced a release that way, and a bench's merge
  -- queue stopped). pg_locks shows an int8 key as its high and low halves.
  return exists (
    select 1 from pg_locks l
     where l.locktype = 'advisory' and l.pid = pg_backend_pid() and l.granted and l.objsubid = 1
       and l.database = (select oid from pg_database where datname = current_database())
       and l.classid = ((k >> 32) & 4294967295)::oid and l.objid = (k & 4294967295)::oid);
end $$;
