-- Runner concurrency caps: how many times in a row a task found its cap
-- (limits.max_concurrent_agents, agents.<type>.max_concurrency) full. Drives
-- the waiting task's backoff and lets a settling task wake the next waiter.
alter table tasks add column cap_waits integer not null default 0 check (cap_waits >= 0);
create index tasks_cap_waiting_idx on tasks (project_id, priority) where status = 'queued' and cap_waits > 0;
-- Live agent runs per project and agent type, counted at every claim.
create index agent_runs_live_project_idx on agent_runs (project_id, agent_type) where ended_at is null;
