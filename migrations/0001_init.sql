-- Samgita schema, version 1.
-- Every enum is a text column with a CHECK constraint: easier to extend in a
-- later migration than a PostgreSQL enum type, and just as strict.

create table projects (
  id                    uuid primary key default gen_random_uuid(),
  name                  text not null check (length(name) between 1 and 200),
  -- The canonical identity of a project: it survives path changes and machine moves.
  git_url               text not null unique,
  working_path          text,
  default_branch        text,
  source                text not null default 'local' check (source in ('local', 'api', 'github')),
  github_installation_id bigint,
  github_repo           text,
  prd_content           text,
  current_revision_id   uuid,
  phase                 text not null default 'bootstrap' check (phase in (
                          'bootstrap', 'discovery', 'architecture', 'infrastructure', 'development',
                          'qa', 'deployment', 'business', 'growth', 'perpetual')),
  status                text not null default 'pending' check (status in (
                          'pending', 'running', 'paused', 'completed', 'failed', 'cancelled', 'archived')),
  status_reason         text,
  config                jsonb not null default '{}'::jsonb,
  input_tokens          bigint not null default 0 check (input_tokens >= 0),
  output_tokens         bigint not null default 0 check (output_tokens >= 0),
  cache_read_tokens     bigint not null default 0 check (cache_read_tokens >= 0),
  cache_write_tokens    bigint not null default 0 check (cache_write_tokens >= 0),
  cost_usd              numeric(14, 6) not null default 0 check (cost_usd >= 0),
  inserted_at           timestamptz not null default now(),
  updated_at            timestamptz not null default now()
);
create index projects_status_idx on projects (status);

-- PRD.md (+ samgita.yaml) at a commit: the desired state.
create table prd_revisions (
  id              uuid primary key default gen_random_uuid(),
  project_id      uuid not null references projects (id) on delete cascade,
  commit_sha      text,
  content         text not null,
  content_hash    text not null,
  config          jsonb not null default '{}'::jsonb,
  config_hash     text not null default '',
  source          text not null default 'git' check (source in ('git', 'api', 'upload', 'github')),
  inserted_at     timestamptz not null default now(),
  unique nulls not distinct (project_id, commit_sha, content_hash, config_hash)
);
create index prd_revisions_project_idx on prd_revisions (project_id, inserted_at desc);

alter table projects
  add constraint projects_current_revision_fk
  foreign key (current_revision_id) references prd_revisions (id) on delete set null;

create table requirements (
  id                uuid primary key default gen_random_uuid(),
  project_id        uuid not null references projects (id) on delete cascade,
  -- Stable identity: the requirement's ID (FR-1.4) or its heading path.
  key               text not null,
  kind              text not null check (kind in (
                      'functional', 'non_functional', 'section', 'acceptance', 'bullet', 'data_model', 'api')),
  title             text not null,
  body              text not null,
  priority          text check (priority in ('P0', 'P1', 'P2')),
  section_path      text[] not null default '{}',
  line              integer,
  content_hash      text not null,
  status            text not null default 'active' check (status in ('active', 'removed')),
  first_revision_id uuid references prd_revisions (id) on delete set null,
  last_revision_id  uuid references prd_revisions (id) on delete set null,
  inserted_at       timestamptz not null default now(),
  updated_at        timestamptz not null default now(),
  unique (project_id, key)
);

create table tasks (
  id                 uuid primary key default gen_random_uuid(),
  project_id         uuid not null references projects (id) on delete cascade,
  parent_task_id     uuid references tasks (id) on delete set null,
  requirement_id     uuid references requirements (id) on delete set null,
  -- Stable key from the planner; re-planning matches tasks by it.
  key                text not null,
  title              text not null,
  description        text not null default '',
  type               text not null default 'implement',
  phase              text not null check (phase in (
                       'bootstrap', 'discovery', 'architecture', 'infrastructure', 'development',
                       'qa', 'deployment', 'business', 'growth', 'perpetual')),
  agent_type         text not null,
  priority           integer not null default 100 check (priority >= 0),
  status             text not null default 'pending' check (status in (
                       'pending', 'blocked', 'queued', 'running', 'completed', 'failed', 'dead_letter', 'cancelled')),
  payload            jsonb not null default '{}'::jsonb,
  result             jsonb,
  error              jsonb,
  requirement_hash   text,
  agent_id           uuid,
  attempts           integer not null default 0 check (attempts >= 0),
  max_attempts       integer not null default 3 check (max_attempts >= 1),
  -- Where the RARV loop stands, so a restarted task resumes instead of starting over.
  rarv_step          text check (rarv_step in ('reason', 'act', 'reflect', 'verify', 'done')),
  rarv_loop          integer not null default 0,
  checkpoint         jsonb not null default '{}'::jsonb,
  session_id         text,
  branch             text,
  head_sha           text,
  pr_number          integer,
  pr_url             text,
  input_tokens       bigint not null default 0 check (input_tokens >= 0),
  output_tokens      bigint not null default 0 check (output_tokens >= 0),
  cache_read_tokens  bigint not null default 0 check (cache_read_tokens >= 0),
  cache_write_tokens bigint not null default 0 check (cache_write_tokens >= 0),
  tokens_used        bigint generated always as (input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) stored,
  cost_usd           numeric(14, 6) not null default 0 check (cost_usd >= 0),
  run_after          timestamptz,
  queued_at          timestamptz,
  started_at         timestamptz,
  completed_at       timestamptz,
  duration_ms        bigint,
  inserted_at        timestamptz not null default now(),
  updated_at         timestamptz not null default now(),
  unique (project_id, key)
);
create index tasks_project_status_idx on tasks (project_id, status, priority);
create index tasks_project_phase_idx on tasks (project_id, phase);
create index tasks_requirement_idx on tasks (requirement_id);

create table task_dependencies (
  task_id     uuid not null references tasks (id) on delete cascade,
  depends_on  uuid not null references tasks (id) on delete cascade,
  primary key (task_id, depends_on),
  check (task_id <> depends_on)
);
create index task_dependencies_parent_idx on task_dependencies (depends_on);

create table runners (
  id            uuid primary key default gen_random_uuid(),
  name          text not null,
  host          text not null,
  pid           integer not null,
  -- graphile-worker worker ids owned by this runner; released with forceUnlockWorkers when it dies.
  worker_ids    text[] not null default '{}',
  capacity      integer not null check (capacity >= 1),
  version       text,
  status        text not null default 'active' check (status in ('active', 'draining', 'stopped', 'dead')),
  started_at    timestamptz not null default now(),
  heartbeat_at  timestamptz not null default now(),
  stopped_at    timestamptz,
  meta          jsonb not null default '{}'::jsonb
);
create index runners_alive_idx on runners (status, heartbeat_at);

create table agent_runs (
  id                 uuid primary key default gen_random_uuid(),
  project_id         uuid not null references projects (id) on delete cascade,
  current_task_id    uuid references tasks (id) on delete set null,
  runner_id          uuid references runners (id) on delete set null,
  agent_type         text not null,
  node               text not null,
  pid                text,
  model              text,
  attempt            integer not null default 1,
  status             text not null default 'idle' check (status in (
                       'idle', 'reason', 'act', 'reflect', 'verify', 'completed', 'failed', 'cancelled')),
  session_id         text,
  total_tasks        integer not null default 0,
  input_tokens       bigint not null default 0,
  output_tokens      bigint not null default 0,
  cache_read_tokens  bigint not null default 0,
  cache_write_tokens bigint not null default 0,
  total_tokens       bigint generated always as (input_tokens + output_tokens + cache_read_tokens + cache_write_tokens) stored,
  cost_usd           numeric(14, 6) not null default 0,
  total_duration_ms  bigint not null default 0,
  error              jsonb,
  started_at         timestamptz not null default now(),
  ended_at           timestamptz
);
create index agent_runs_project_idx on agent_runs (project_id, started_at desc);
create index agent_runs_task_idx on agent_runs (current_task_id);
create index agent_runs_active_idx on agent_runs (status) where ended_at is null;

-- One row per RARV step: what went in, what came out; the basis of resume.
create table rarv_steps (
  id             bigint generated always as identity primary key,
  agent_run_id   uuid not null references agent_runs (id) on delete cascade,
  task_id        uuid not null references tasks (id) on delete cascade,
  loop           integer not null,
  step           text not null check (step in ('reason', 'act', 'reflect', 'verify')),
  status         text not null default 'started' check (status in ('started', 'completed', 'failed')),
  input          jsonb not null default '{}'::jsonb,
  output         jsonb not null default '{}'::jsonb,
  input_tokens   bigint not null default 0,
  output_tokens  bigint not null default 0,
  cache_read_tokens  bigint not null default 0,
  cache_write_tokens bigint not null default 0,
  cost_usd       numeric(14, 6) not null default 0,
  started_at     timestamptz not null default now(),
  ended_at       timestamptz
);
create index rarv_steps_task_idx on rarv_steps (task_id, id);

create table agent_logs (
  id            bigint generated always as identity primary key,
  agent_run_id  uuid not null references agent_runs (id) on delete cascade,
  stream        text not null check (stream in ('event', 'stdout', 'stderr', 'verify', 'system')),
  line          text not null,
  inserted_at   timestamptz not null default now()
);
create index agent_logs_run_idx on agent_logs (agent_run_id, id);

create table artifacts (
  id            uuid primary key default gen_random_uuid(),
  project_id    uuid not null references projects (id) on delete cascade,
  task_id       uuid references tasks (id) on delete set null,
  type          text not null check (type in ('code', 'doc', 'config', 'deployment')),
  path          text not null,
  content       text,
  content_hash  text not null,
  metadata      jsonb not null default '{}'::jsonb,
  inserted_at   timestamptz not null default now(),
  unique nulls not distinct (project_id, task_id, path, content_hash)
);
create index artifacts_project_idx on artifacts (project_id, inserted_at desc);

-- pgvector is not available on every PostgreSQL we run on (Debian's, the
-- embedded one), so embeddings are stored as real[] and ranked in SQL/JS.
create table memories (
  id            uuid primary key default gen_random_uuid(),
  project_id    uuid not null references projects (id) on delete cascade,
  task_id       uuid references tasks (id) on delete set null,
  type          text not null check (type in ('episodic', 'semantic', 'procedural')),
  content       text not null,
  embedding     real[],
  importance    double precision not null default 0.5 check (importance between 0 and 1),
  accessed_at   timestamptz,
  inserted_at   timestamptz not null default now()
);
create index memories_project_idx on memories (project_id, type, importance desc);

create table snapshots (
  id                uuid primary key default gen_random_uuid(),
  project_id        uuid not null references projects (id) on delete cascade,
  phase             text not null,
  agent_states      jsonb not null default '[]'::jsonb,
  task_queue_state  jsonb not null default '{}'::jsonb,
  memory_state      jsonb not null default '{}'::jsonb,
  git_state         jsonb not null default '{}'::jsonb,
  inserted_at       timestamptz not null default now()
);
create index snapshots_project_idx on snapshots (project_id, inserted_at desc);

create table api_keys (
  id            uuid primary key default gen_random_uuid(),
  name          text not null,
  -- Shown in listings so a key can be recognised; the secret itself is only stored hashed.
  prefix        text not null unique,
  hash          text not null,
  scope         text not null check (scope in ('read', 'write')),
  created_at    timestamptz not null default now(),
  last_used_at  timestamptz,
  revoked_at    timestamptz
);

create table webhooks (
  id           uuid primary key default gen_random_uuid(),
  url          text not null,
  events       text[] not null,
  secret       text not null,
  description  text,
  active       boolean not null default true,
  created_at   timestamptz not null default now(),
  updated_at   timestamptz not null default now()
);

-- Append-only audit of every state change; also the source of live updates.
create table events (
  id           bigint generated always as identity primary key,
  project_id   uuid,
  kind         text not null,
  subject_type text not null check (subject_type in (
                 'project', 'task', 'agent_run', 'runner', 'prd_revision', 'webhook', 'api_key', 'system')),
  subject_id   text,
  actor_type   text not null default 'system' check (actor_type in (
                 'system', 'cli', 'runner', 'api_key', 'github_user', 'github_app')),
  actor_id     text,
  data         jsonb not null default '{}'::jsonb,
  created_at   timestamptz not null default now()
);
create index events_project_idx on events (project_id, id);
create index events_kind_idx on events (kind, id);

create function events_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'events is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
end $$;
create trigger events_no_update before update or delete on events
  for each row execute function events_append_only();

-- Live updates: a small notification per event; listeners read the row by id
-- (NOTIFY payloads are limited to 8000 bytes).
create function events_notify() returns trigger language plpgsql as $$
begin
  perform pg_notify('samgita_events', json_build_object(
    'id', new.id, 'kind', new.kind, 'project_id', new.project_id,
    'subject_type', new.subject_type, 'subject_id', new.subject_id)::text);
  return null;
end $$;
create trigger events_notify after insert on events
  for each row execute function events_notify();

create table webhook_deliveries (
  id               uuid primary key default gen_random_uuid(),
  webhook_id       uuid not null references webhooks (id) on delete cascade,
  event_id         bigint not null references events (id),
  event            text not null,
  status           text not null default 'pending' check (status in ('pending', 'succeeded', 'failed')),
  attempts         integer not null default 0,
  response_status  integer,
  response_body    text,
  error            text,
  duration_ms      integer,
  inserted_at      timestamptz not null default now(),
  delivered_at     timestamptz,
  unique (webhook_id, event_id)
);
create index webhook_deliveries_webhook_idx on webhook_deliveries (webhook_id, inserted_at desc);

-- GitHub webhook deliveries already processed (X-GitHub-Delivery), so a redelivery is a no-op.
create table github_deliveries (
  delivery_id  text primary key,
  event        text not null,
  action       text,
  received_at  timestamptz not null default now()
);

-- A provider paused for every runner until a rate limit resets.
create table provider_pauses (
  provider      text primary key,
  paused_until  timestamptz not null,
  reason        text not null,
  updated_at    timestamptz not null default now()
);
