-- REST API support: live agent log streaming, keyset pagination indexes and
-- the webhook dispatcher's catch-up cursor.

-- Live agent logs: a small notification per line; listeners read rows by id.
create function agent_logs_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('samgita_agent_logs', json_build_object(
    'agent_run_id', new.agent_run_id, 'id', new.id)::text);
  return null;
end $$;
create trigger agent_logs_notify after insert on agent_logs
  for each row execute function agent_logs_notify();

-- GET /api/projects/:id/tasks orders by (priority, id).
create index tasks_project_priority_idx on tasks (project_id, priority, id);
-- GET /api/projects orders newest first.
create index projects_inserted_idx on projects (inserted_at desc, id desc);
create index artifacts_project_id_idx on artifacts (project_id, id);

-- The webhook dispatcher reacts to NOTIFY, and sweeps events above this cursor
-- so that nothing is lost while no dispatcher was listening.
create table webhook_dispatch_cursor (
  id            boolean primary key default true check (id),
  last_event_id bigint not null default 0,
  updated_at    timestamptz not null default now()
);
insert into webhook_dispatch_cursor (id, last_event_id)
  select true, coalesce(max(id), 0) from events;
