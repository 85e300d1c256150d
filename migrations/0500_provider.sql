-- Provider-wide backoff (issue: overload handling). Rate limits, overload (529)
-- and server errors (5xx) hold back every runner: the row says until when,
-- since when the outage lasts (for limits.overload_give_up), how many probes
-- failed in a row (the backoff grows with it) and which agent run is probing.
alter table provider_pauses
  add column kind         text not null default 'rate_limit'
                          check (kind in ('rate_limit', 'overloaded', 'server_error')),
  add column since        timestamptz not null default now(),
  add column failures     integer not null default 1 check (failures >= 1),
  -- A rate limit whose reset the provider announced: wait for it, never give up on it.
  add column waits_for_reset boolean not null default false,
  add column probe_run_id uuid;

-- A task held back by the provider (queued, its job due at the pause's end);
-- a successful probe wakes every such task at once.
alter table tasks add column waiting_for text check (waiting_for in ('provider'));
create index tasks_waiting_provider_idx on tasks (id) where waiting_for = 'provider';

-- When the project last started running (start, resume, retry): its patience
-- with a provider outage (limits.overload_give_up) counts from here, so a
-- project resumed by a human probes again before pausing. A trigger, so every
-- path that sets the status keeps it.
alter table projects add column running_since timestamptz;
create function projects_running_since() returns trigger language plpgsql as $$
begin
  if new.status = 'running' and (tg_op = 'INSERT' or old.status is distinct from 'running') then
    new.running_since := now();
  end if;
  return new;
end $$;
create trigger projects_running_since before insert or update of status on projects
  for each row execute function projects_running_since();
