-- Planning: the structured work breakdowns a discovery agent returned (FR-2.1)
-- and the perpetual-mode cycle counter (FR-4.4).

-- One validated breakdown per PRD + config content; every later reconcile of
-- the project merges the newest one into the deterministic plan, so the tasks
-- it added are not cancelled by a re-plan that did not ask Claude again.
create table prd_analyses (
  id           uuid primary key default gen_random_uuid(),
  project_id   uuid not null references projects (id) on delete cascade,
  revision_id  uuid references prd_revisions (id) on delete set null,
  prd_hash     text not null,
  config_hash  text not null default '',
  summary      text,
  breakdown    jsonb not null,
  attempts     integer not null default 1 check (attempts >= 1),
  cost_usd     numeric(14, 6) not null default 0 check (cost_usd >= 0),
  inserted_at  timestamptz not null default now(),
  unique (project_id, prd_hash, config_hash)
);
create index prd_analyses_project_idx on prd_analyses (project_id, inserted_at desc);

-- Perpetual mode: how many improvement cycles were proposed; task keys carry it
-- ("perpetual/cycle-<n>/<area>") so they stay unique across cycles.
alter table projects add column perpetual_cycle integer not null default 0 check (perpetual_cycle >= 0);
