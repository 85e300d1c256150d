-- Integration (issue: from task branches to one working product). Each project
-- has an integration branch; verified task branches are merged onto it one at
-- a time (the merge queue), re-verified on the combined tree, and the branch
-- advances only when that passes.

alter table projects
  add column integration_branch text,
  -- The integration branch's head as the merge queue last left it.
  add column integration_head text,
  -- The last whole-product verify: {head, status: passed|failed|unverified, commands, summary, at}.
  add column integration_verify jsonb;

alter table tasks
  -- Where the task stands in its project's merge queue.
  add column merge_state text check (merge_state in ('waiting', 'merging', 'merged', 'sent_back')),
  -- Why it was sent back (conflicting files, the failing output), or what it merged as.
  add column merge_note text,
  -- The integration commit that brought the task's work in.
  add column integrated_sha text;

-- The RARV loop gains a step after Verify: Integrate.
alter table tasks drop constraint tasks_rarv_step_check;
alter table tasks add constraint tasks_rarv_step_check
  check (rarv_step in ('reason', 'act', 'reflect', 'verify', 'integrate', 'done'));
alter table rarv_steps drop constraint rarv_steps_step_check;
alter table rarv_steps add constraint rarv_steps_step_check
  check (step in ('reason', 'act', 'reflect', 'verify', 'integrate'));
alter table agent_runs drop constraint agent_runs_status_check;
alter table agent_runs add constraint agent_runs_status_check
  check (status in ('idle', 'reason', 'act', 'reflect', 'verify', 'integrate', 'completed', 'failed', 'cancelled'));
